//! What the front page shows: the trials taking sign-ups that organisers chose to list.
use crate::store::techniques::OpenTrial;
use crate::store::{Store, StoreError};

/// The trials a visitor can join from the front page (open for sign-up, with "Show on the
/// home page" ticked), by name. The coffee-trials technique page lists the same.
pub async fn open_trials(store: &Store) -> Result<Vec<OpenTrial>, StoreError> {
    store.list_open_trials().await
}
