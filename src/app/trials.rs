//! Trials: finding one, the list an organiser may see, creating and editing one. Whoever
//! creates a trial in the console or the API may manage it from then on.
use chrono::{DateTime, Utc};

use crate::domain::TrialSettings;
use crate::store::organisers::Organiser;
use crate::store::trials::{SaveTrialError, Trial, TrialSummary};
use crate::store::{Store, StoreError};

/// The trial at this address, if there is one.
pub async fn find(store: &Store, slug: &str) -> Result<Option<Trial>, StoreError> {
    store.find_trial(slug).await
}

/// The trial a membership or a personal link belongs to.
pub async fn by_id(store: &Store, trial_id: i64) -> Result<Option<Trial>, StoreError> {
    store.trial_by_id(trial_id).await
}

/// The trial's rounds, as the store lists them.
pub async fn rounds(
    store: &Store,
    trial_id: i64,
) -> Result<Vec<crate::store::rounds::Round>, StoreError> {
    store.list_rounds(trial_id).await
}

/// The trial's settings for rounds (ways of meeting, suggested times, the midway nudge).
pub async fn round_settings(
    store: &Store,
    trial_id: i64,
) -> Result<crate::domain::RoundSettings, StoreError> {
    store.round_settings(trial_id).await
}

/// Saves the trial's settings for rounds.
pub async fn save_round_settings(
    store: &Store,
    trial_id: i64,
    settings: &crate::domain::RoundSettings,
) -> Result<(), StoreError> {
    store.save_round_settings(trial_id, settings).await
}

/// Every trial, for the command line (which acts as an admin).
pub async fn list(store: &Store) -> Result<Vec<TrialSummary>, StoreError> {
    store.list_trials().await
}

/// The trials this organiser may see: all of them for an admin, else those granted.
pub async fn visible_to(
    store: &Store,
    organiser: &Organiser,
) -> Result<Vec<TrialSummary>, StoreError> {
    let mut trials = store.list_trials().await?;
    if let Some(allowed) = store.allowed_trial_slugs(organiser).await? {
        trials.retain(|t| allowed.contains(&t.slug));
    }
    Ok(trials)
}

/// Whether this organiser may manage the trial (admins may manage every trial).
pub async fn may_manage(
    store: &Store,
    organiser: &Organiser,
    trial: &Trial,
) -> Result<bool, StoreError> {
    store.may_access_trial(organiser, trial.id).await
}

/// A new trial from the command line, which nobody in particular owns.
pub async fn create(
    store: &Store,
    settings: &TrialSettings,
    now: DateTime<Utc>,
) -> Result<Trial, SaveTrialError> {
    store.create_trial(settings, now).await
}

/// Creates a trial (`existing_slug` is `None`) or changes the one at `existing_slug`. The
/// organiser who creates a trial is granted it.
pub async fn save(
    store: &Store,
    organiser: &Organiser,
    existing_slug: Option<&str>,
    settings: &TrialSettings,
    now: DateTime<Utc>,
) -> Result<Trial, SaveTrialError> {
    match existing_slug {
        None => store.create_trial_for(organiser, settings, now).await,
        Some(slug) => store.update_trial(slug, settings, now).await,
    }
}
