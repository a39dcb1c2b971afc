//! A trial's dashboard: the history its figures are computed from (`insight` computes them).
use crate::insight::History;
use crate::store::trials::Trial;
use crate::store::{Store, StoreError};

/// Everything the dashboard's figures are computed from.
pub async fn history(store: &Store, trial: &Trial) -> Result<History, StoreError> {
    store.insight_history(trial).await
}
