//! The service itself: opening the database for a command, and whether it answers.
use crate::store::DatabaseUrl;
use crate::store::{Store, StoreError};

/// Connects to the database and brings its schema up to date, for a command-line run.
pub async fn open(url: &DatabaseUrl) -> Result<Store, StoreError> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    Ok(store)
}

/// Like [`open`], for a command that writes many rows (an import): the database driver's
/// slow-statement warnings start later, so a large import does not fill the log.
pub async fn open_for_bulk_work(url: &DatabaseUrl) -> Result<Store, StoreError> {
    let store = Store::connect_for_bulk_work(url).await?;
    store.migrate().await?;
    Ok(store)
}

/// The name of the database backend (`sqlite` or `postgres`), for the readiness answer.
pub fn database(store: &Store) -> &'static str {
    store.backend().name()
}

/// Whether the database answers.
pub async fn ready(store: &Store) -> Result<(), StoreError> {
    store.ping().await
}
