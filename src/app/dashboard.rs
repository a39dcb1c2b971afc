//! A trial's dashboard: its figures, computed from the trial's history (`insight` computes
//! them) and kept in memory per trial until the trial's version moves.
//!
//! Computing them reads every placement and answer of every published round (500,000 rows
//! for 10,000 people and 50 rounds), so it happens once per change, not once per view: the
//! version (`trial_versions`) is bumped by database triggers in the same transaction as any
//! change to rounds, answers or members' grouping values, here or in another instance. The
//! counts of people change with every sign-up and are one cheap query, so they are read
//! afresh on every view and never cached.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::insight::{self, History, Stats};
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

/// Figures computed for one trial at one version.
struct Cached {
    version: i64,
    /// The trial's settings the figures also depend on (its list of values orders the heat
    /// map); an organiser's edit of the trial does not move the version.
    attribute_values: String,
    stats: Arc<Stats>,
}

/// The figures of the trials whose dashboards were viewed, one entry per trial. Each entry
/// has its own async lock, so sixteen organisers opening a stale dashboard at once wait for
/// one computation instead of starting sixteen, and other trials are not held up.
#[derive(Default)]
pub struct DashboardCache {
    trials: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
}

impl DashboardCache {
    pub fn new() -> Self {
        Self::default()
    }

    fn slot(&self, trial_id: i64) -> Arc<tokio::sync::Mutex<Option<Cached>>> {
        let mut trials = self.trials.lock().unwrap_or_else(|e| e.into_inner());
        trials.entry(trial_id).or_default().clone()
    }
}

/// The dashboard's figures for `trial`, from memory when nothing they depend on has changed.
pub async fn stats(
    store: &Store,
    cache: &DashboardCache,
    trial: &Trial,
) -> Result<Stats, StoreError> {
    let slot = cache.slot(trial.id);
    let mut cached = slot.lock().await;
    // The version is read before the history: a change committed in between makes the next
    // view compute again, never keeps stale figures.
    let version = store.trial_version(trial.id).await?;
    let people = store.dashboard_people(trial.id).await?;
    let fresh = cached
        .as_ref()
        .filter(|c| c.version == version && c.attribute_values == trial.attribute_values)
        .map(|c| c.stats.clone());
    let shared = match fresh {
        Some(stats) => stats,
        None => {
            let history = history(store, trial).await?;
            // Hundreds of milliseconds of work at 50 rounds: off the thread that serves
            // other requests.
            let stats = match tokio::task::spawn_blocking(move || insight::compute(&history)).await
            {
                Ok(stats) => stats,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                // Only when the runtime is shutting down.
                Err(_) => return Err(StoreError::Sql(sqlx::Error::WorkerCrashed)),
            };
            let stats = Arc::new(stats);
            *cached = Some(Cached {
                version,
                attribute_values: trial.attribute_values.clone(),
                stats: stats.clone(),
            });
            stats
        }
    };
    drop(cached);
    let mut stats = (*shared).clone();
    stats.people = people;
    Ok(stats)
}
