//! Organiser accounts as admins manage them: the list, disabling and enabling accounts, and
//! who (beyond the admins) may manage each trial.
use chrono::{DateTime, Utc};

use crate::store::organisers::{DisableError, OrganiserSummary};
use crate::store::trials::Trial;
use crate::store::{Store, StoreError};

pub async fn list(store: &Store) -> Result<Vec<OrganiserSummary>, StoreError> {
    store.list_organisers().await
}

/// The account with this email address.
pub async fn find_by_email(
    store: &Store,
    email: &str,
) -> Result<Option<OrganiserSummary>, StoreError> {
    store.find_organiser_summary(email).await
}

/// Disables an account and ends its sessions; the last enabled admin stays enabled.
pub async fn disable(
    store: &Store,
    organiser_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DisableError> {
    store.disable_organiser(organiser_id, now).await
}

/// Enables an account again; `false` when there is no such account.
pub async fn enable(store: &Store, organiser_id: i64) -> Result<bool, StoreError> {
    store.enable_organiser(organiser_id).await
}

/// The email addresses of the organisers (beyond admins) who may manage the trial.
pub async fn of_trial(store: &Store, trial: &Trial) -> Result<Vec<String>, StoreError> {
    store.trial_organisers(trial.id).await
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No organiser account has this address (trimmed as given).
    #[error("there is no organiser with the address {0}")]
    UnknownOrganiser(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Gives (`grant`) or takes away access to the trial for the organiser with this address.
pub async fn change_access(
    store: &Store,
    trial: &Trial,
    email: &str,
    grant: bool,
    now: DateTime<Utc>,
) -> Result<(), AccessError> {
    let organiser = store
        .find_organiser_summary(email)
        .await?
        .ok_or_else(|| AccessError::UnknownOrganiser(email.trim().to_string()))?;
    if grant {
        store.grant_trial(trial.id, organiser.id, now).await?;
    } else {
        store.revoke_trial(trial.id, organiser.id).await?;
    }
    Ok(())
}

/// Replaces the list of organisers who may manage the trial. Every address must be an
/// organiser before anything changes. Returns the list as it now stands.
pub async fn replace_access(
    store: &Store,
    trial: &Trial,
    emails: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<String>, AccessError> {
    let mut wanted = Vec::new();
    for email in emails {
        match store.find_organiser_summary(email).await? {
            Some(o) => wanted.push(o.id),
            None => return Err(AccessError::UnknownOrganiser(email.trim().to_string())),
        }
    }
    store
        .replace_trial_organisers(trial.id, &wanted, now)
        .await?;
    Ok(store.trial_organisers(trial.id).await?)
}
