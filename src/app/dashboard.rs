//! A trial's dashboard: its figures, computed from the trial's history (`insight` computes
//! them) and kept in memory per trial until the trial's version moves.
//!
//! The figures of 10,000 people over 50 rounds come from about 800,000 rows, so they are
//! kept: the trial's version (`trial_versions`) is bumped by database triggers in the same
//! transaction as any change to rounds, answers or members' grouping values, here or in
//! another instance, and each round has a version of its own (`round_versions`). A view that
//! finds the trial's version moved reads and computes again only the rounds whose version
//! moved, then adds up the parts. The counts of people change with every sign-up and are one
//! cheap query, so they are read afresh on every view and never cached.
//!
//! Each round's part is also stored in the database under its version (`round_figures`), so
//! the first view after a restart, or on another instance, reads fifty parts back instead of
//! 800,000 rows.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::insight::{self, History, People, RoundPart, Stats};
use crate::store::insight::{RoundVersion, StoredRoundFigures};
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

/// Figures computed for one trial at one version, with the part of each published round they
/// were added up from.
struct Cached {
    version: i64,
    /// The trial's settings the figures also depend on (its list of values orders the heat
    /// map); an organiser's edit of the trial does not move the version.
    attribute_values: String,
    stats: Arc<Stats>,
    /// Round id to (the round's version, its part).
    parts: HashMap<i64, (i64, Arc<RoundPart>)>,
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
/// When something has, only the rounds whose own version moved are read and computed again
/// (one, after an answer); the parts are then added up afresh.
pub async fn stats(
    store: &Store,
    cache: &DashboardCache,
    trial: &Trial,
) -> Result<Stats, StoreError> {
    let slot = cache.slot(trial.id);
    let mut cached = slot.lock().await;
    // Versions are read before what they cover: a change committed in between makes the next
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
            let old_parts = cached.take().map(|c| c.parts).unwrap_or_default();
            let next = recompute(store, trial, version, people, old_parts).await?;
            let stats = next.stats.clone();
            *cached = Some(next);
            stats
        }
    };
    drop(cached);
    let mut stats = (*shared).clone();
    stats.people = people;
    Ok(stats)
}

/// The layout and way of counting of the figures stored per round (`round_figures`). Raise it
/// whenever [`RoundPart`] or [`insight::compute_round`] changes: rows of another format are
/// then computed afresh instead of being read back.
pub const FIGURES_FORMAT: i64 = 1;

/// New figures at `version`, reusing the parts of rounds whose version has not moved: from
/// memory, else from the database (stored by an earlier view, in this instance or another),
/// else read and computed, then stored.
async fn recompute(
    store: &Store,
    trial: &Trial,
    version: i64,
    people: People,
    mut parts: HashMap<i64, (i64, Arc<RoundPart>)>,
) -> Result<Cached, StoreError> {
    let rounds = store.round_versions(trial.id).await?;
    let published: Vec<RoundVersion> = rounds.iter().copied().filter(|r| r.published).collect();
    let draft_rounds = (rounds.len() - published.len()) as i64;
    parts.retain(|id, (v, _)| published.iter().any(|r| r.id == *id && r.version == *v));
    let missing: Vec<RoundVersion> = published
        .iter()
        .copied()
        .filter(|r| !parts.contains_key(&r.id))
        .collect();
    let mut stored = Vec::new();
    for r in &missing {
        if let Some(s) = store.stored_round_figures(r.id).await? {
            if s.version == r.version && s.format == FIGURES_FORMAT {
                stored.push(s);
            }
        }
    }
    // Parsing fifty rounds' JSON takes tens of milliseconds: off the serving threads too.
    let read_back = off_the_serving_threads(move || {
        stored
            .into_iter()
            .filter_map(|s| match serde_json::from_str::<RoundPart>(&s.part) {
                Ok(part) => Some((s.round_id, (s.version, Arc::new(part)))),
                Err(e) => {
                    tracing::warn!(round = s.round_id, error = %e,
                        "stored figures of a round are unreadable; computing them again");
                    None
                }
            })
            .collect::<Vec<_>>()
    })
    .await?;
    parts.extend(read_back);
    let mut stale = Vec::new();
    for r in missing.iter().filter(|r| !parts.contains_key(&r.id)) {
        stale.push((
            r.id,
            r.version,
            store.round_figures_history(r.id, r.number).await?,
        ));
    }
    let values = store.grouping_values(trial.id).await?;
    let attribute_values: Vec<String> = trial
        .attribute_value_list()
        .into_iter()
        .map(str::to_string)
        .collect();
    // Tens of milliseconds for one round of 10,000 people, seconds for fifty.
    let (parts, stats, to_store) = off_the_serving_threads(move || {
        let mut to_store = Vec::with_capacity(stale.len());
        for (id, round_version, history) in stale {
            let part = insight::compute_round(&history);
            match serde_json::to_string(&part) {
                Ok(json) => to_store.push(StoredRoundFigures {
                    round_id: id,
                    version: round_version,
                    format: FIGURES_FORMAT,
                    part: json,
                }),
                Err(e) => {
                    tracing::warn!(round = id, error = %e, "a round's figures cannot be stored")
                }
            }
            parts.insert(id, (round_version, Arc::new(part)));
        }
        let stats = insight::combine(
            &attribute_values,
            people,
            draft_rounds,
            parts.values().map(|(_, p)| p.as_ref()),
            &values,
        );
        (parts, stats, to_store)
    })
    .await?;
    // Kept for speed only: a failure to store costs the next restart a computation, so it is
    // logged and the page is still shown.
    if !to_store.is_empty() {
        if let Err(e) = store.save_round_figures(&to_store).await {
            tracing::warn!(error = %e, "the dashboard's figures were not stored");
        }
    }
    Ok(Cached {
        version,
        attribute_values: trial.attribute_values.clone(),
        stats: Arc::new(stats),
        parts,
    })
}

/// Runs CPU-bound work on tokio's blocking threads, so other requests are served meanwhile.
async fn off_the_serving_threads<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(done) => Ok(done),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only when the runtime is shutting down.
        Err(_) => Err(StoreError::Sql(sqlx::Error::WorkerCrashed)),
    }
}
