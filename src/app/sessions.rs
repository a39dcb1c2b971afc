//! Console sessions and API tokens: what an organiser holds once signed in. Only the hashes
//! of their secrets are stored; the secret itself is handed out once.
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use crate::domain::{FieldError, ShortText};
use crate::store::organisers::ApiToken;
use crate::store::{Store, StoreError};
use crate::tokens;

/// Starts a session for the organiser, notes the sign-in, and returns the session's secret
/// (for the cookie).
pub async fn start(
    store: &Store,
    organiser_id: i64,
    lifetime: Duration,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let token = tokens::new_token();
    store
        .create_session(
            organiser_id,
            &tokens::hash_token(&token),
            now,
            now + lifetime,
        )
        .await?;
    store.record_login(organiser_id, now).await?;
    Ok(token)
}

/// Ends the session with this secret (signing out).
pub async fn end(store: &Store, token: &str) -> Result<(), StoreError> {
    store.delete_session(&tokens::hash_token(token)).await
}

/// The organiser's API tokens, for the tokens page.
pub async fn api_tokens(store: &Store, organiser_id: i64) -> Result<Vec<ApiToken>, StoreError> {
    store.list_api_tokens(organiser_id).await
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Input to correct, at its field.
    #[error("{}", .0.message)]
    Invalid(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates an API token named `name`, working until the end of `expires_on` (YYYY-MM-DD, UTC;
/// empty for a token that does not expire). Returns the secret, which is shown once: the
/// database keeps just its hash.
pub async fn create_api_token(
    store: &Store,
    organiser_id: i64,
    name: &str,
    expires_on: &str,
    now: DateTime<Utc>,
) -> Result<String, TokenError> {
    let expires_at = token_expiry(expires_on, now)
        .map_err(|m| TokenError::Invalid(FieldError::new("expires_on", m)))?;
    let name = match ShortText::parse(name, 80, false) {
        Ok(n) if !n.as_str().is_empty() => n.into_string(),
        Ok(_) => {
            return Err(TokenError::Invalid(FieldError::new(
                "name",
                "give the token a name, such as the script that will use it",
            )))
        }
        Err(e) => return Err(TokenError::Invalid(FieldError::new("name", e))),
    };
    let token = tokens::new_token();
    store
        .create_api_token(
            organiser_id,
            &name,
            &tokens::hash_token(&token),
            now,
            expires_at,
        )
        .await?;
    Ok(token)
}

/// Revokes one of the organiser's own tokens; `false` when there was none to revoke.
pub async fn revoke_api_token(
    store: &Store,
    organiser_id: i64,
    token_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    store.revoke_api_token(organiser_id, token_id, now).await
}

/// A token works until the end of its last day (UTC), which must not have passed.
fn token_expiry(raw: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| "give a date such as 2027-06-30, or leave this empty".to_string())?;
    if day < now.date_naive() {
        return Err("choose today or a later day".into());
    }
    if day > now.date_naive() + Duration::days(5 * 366) {
        return Err("choose a day within five years".into());
    }
    let end = day.succ_opt().unwrap_or(day).and_time(NaiveTime::MIN);
    Ok(Some(end.and_utc()))
}

/// The organiser behind an API token's secret, noting its use; `None` when the token is
/// unknown, revoked, expired or its account disabled.
pub async fn organiser_by_api_token(
    store: &Store,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<crate::store::organisers::Organiser>, StoreError> {
    store.use_api_token(&tokens::hash_token(secret), now).await
}

/// The organiser behind a session cookie's secret, while the session lasts.
pub async fn organiser_by_session(
    store: &Store,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Option<crate::store::organisers::Organiser>, StoreError> {
    store
        .find_session_organiser(&tokens::hash_token(secret), now)
        .await
}

/// The key that signs session cookies, made once and shared by every instance.
pub async fn cookie_key(store: &Store) -> Result<String, StoreError> {
    store
        .instance_secret("session_cookie_key", || {
            format!("{}{}", tokens::new_token(), tokens::new_token())
        })
        .await
}
