//! A trial's dashboard: the history its figures are computed from (`insight` computes them).
use crate::insight::History;
use crate::store::trials::Trial;
use crate::store::{Store, StoreError};

/// Everything the dashboard's figures are computed from.
pub async fn history(store: &Store, trial: &Trial) -> Result<History, StoreError> {
    let mut history = store.insight_history(trial).await?;
    history.met_pairs = store
        .trial_met_pairs(trial.id)
        .await?
        .into_iter()
        .map(|p| (p.group_id, p.first_membership_id, p.second_membership_id))
        .collect();
    Ok(history)
}
