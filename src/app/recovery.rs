//! "Forgot your password?": the account behind a reset link, and choosing a new password
//! with it. Sending the link is `accounts::request_password_reset`.
use chrono::{DateTime, Utc};

use crate::app::accounts::passwords;
use crate::domain::FieldError;
use crate::store::organisers::Organiser;
use crate::store::{Store, StoreError};
use crate::tokens;

/// The account a usable reset link is for.
pub async fn account_for_link(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Organiser>, StoreError> {
    store
        .find_reset_organiser(&tokens::hash_token(token), now)
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("this link has already been used or has expired")]
    LinkUnusable,
    /// Passwords to correct; `email` is the account's, which the form shows.
    #[error("{}", .errors.first().map(|e| e.message.as_str()).unwrap_or("invalid input"))]
    Invalid {
        errors: Vec<FieldError>,
        email: String,
    },
    #[error("hashing the password failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sets a new password with a reset link and uses the link up. Every session of the account
/// ends (whoever forgot the password may have left one open somewhere).
pub async fn reset_password(
    store: &Store,
    token: &str,
    password: &str,
    password_again: &str,
    now: DateTime<Utc>,
) -> Result<Organiser, ResetError> {
    let hash = tokens::hash_token(token);
    let Some(organiser) = store.find_reset_organiser(&hash, now).await? else {
        return Err(ResetError::LinkUnusable);
    };
    let mut errors = Vec::new();
    crate::domain::check(
        &mut errors,
        "password",
        passwords::check_strength(password, &organiser.email),
    );
    if password != password_again {
        errors.push(FieldError::new(
            "password_again",
            "the two passwords are not the same",
        ));
    }
    if !errors.is_empty() {
        return Err(ResetError::Invalid {
            errors,
            email: organiser.email,
        });
    }
    let password = password.to_string();
    let password_hash = tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(|e| ResetError::Hashing(e.to_string()))?
        .map_err(|e| ResetError::Hashing(e.to_string()))?;
    store
        .reset_password(&hash, &password_hash, now)
        .await?
        .ok_or(ResetError::LinkUnusable)
}
