//! What an organiser can take away from a trial: its pairings and its feedback, row by row.
use crate::store::insight::{FeedbackRow, PairingRow};
use crate::store::trials::Trial;
use crate::store::{Store, StoreError};

pub async fn pairings(store: &Store, trial: &Trial) -> Result<Vec<PairingRow>, StoreError> {
    store.pairing_rows(trial.id).await
}

pub async fn feedback(store: &Store, trial: &Trial) -> Result<Vec<FeedbackRow>, StoreError> {
    store.feedback_rows(trial.id).await
}
