//! What the front page shows: the trials taking sign-ups.
use crate::store::techniques::OpenTrial;
use crate::store::{Store, StoreError};

/// The trials a visitor can join from the front page, by name.
pub async fn open_trials(store: &Store) -> Result<Vec<OpenTrial>, StoreError> {
    store.list_open_trials().await
}
