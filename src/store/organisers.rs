//! Organiser accounts, their sessions and API tokens, and one-time link tokens.
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

use super::time::to_db;
use super::{columns, Store, StoreError};

#[derive(Clone, Debug)]
pub struct Organiser {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// An admin sees and changes everything; an organiser only the trials granted to them.
    pub is_admin: bool,
}

impl FromRow<'_, AnyRow> for Organiser {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Organiser {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            password_hash: row.try_get("password_hash")?,
            created_at: columns::time(row, "created_at")?,
            last_login_at: columns::optional_time(row, "last_login_at")?,
            is_admin: columns::flag(row, "is_admin")?,
        })
    }
}

impl Organiser {
    pub fn is_admin(&self) -> bool {
        self.is_admin
    }
}

const ORGANISER_COLUMNS: &str = "id, email, password_hash, created_at, last_login_at, is_admin";

#[derive(Clone, Debug)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl FromRow<'_, AnyRow> for ApiToken {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(ApiToken {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            created_at: columns::time(row, "created_at")?,
            last_used_at: columns::optional_time(row, "last_used_at")?,
            revoked_at: columns::optional_time(row, "revoked_at")?,
            expires_at: columns::optional_time(row, "expires_at")?,
        })
    }
}

/// What a one-time link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    Setup,
    Invite,
    Reset,
}

impl TokenPurpose {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "setup" => TokenPurpose::Setup,
            "invite" => TokenPurpose::Invite,
            "reset" => TokenPurpose::Reset,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Setup => "setup",
            TokenPurpose::Invite => "invite",
            TokenPurpose::Reset => "reset",
        }
    }
}

#[derive(Clone, Debug)]
pub struct OneTimeToken {
    pub id: i64,
    pub purpose: TokenPurpose,
    pub email: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

impl FromRow<'_, AnyRow> for OneTimeToken {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(OneTimeToken {
            id: row.try_get("id")?,
            purpose: columns::word(row, "purpose", TokenPurpose::parse)?,
            email: row.try_get("email")?,
            expires_at: columns::time(row, "expires_at")?,
            used_at: columns::optional_time(row, "used_at")?,
        })
    }
}

/// Why an organiser could not be created from a link.
#[derive(Debug, thiserror::Error)]
pub enum CreateOrganiserError {
    #[error("this link has already been used or has expired")]
    LinkUnusable,
    #[error("an organiser with this email address already exists")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    pub async fn count_organisers(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM organisers")
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }

    pub async fn find_organiser_by_email(
        &self,
        email: &str,
    ) -> Result<Option<Organiser>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ORGANISER_COLUMNS} FROM organisers WHERE email = $1 AND disabled_at IS NULL"
        ))
        .bind(email)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn insert_one_time_token(
        &self,
        purpose: TokenPurpose,
        token_hash: &str,
        email: Option<&str>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        insert_token(&mut tx, purpose, token_hash, email, expires_at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A token that can still be used, for showing the page behind a link.
    pub async fn find_usable_token(
        &self,
        purpose: TokenPurpose,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, purpose, email, expires_at, used_at FROM one_time_tokens \
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(to_db(now))
        .fetch_optional(self.pool())
        .await?)
    }

    /// Uses up a set-up or invitation link and creates the organiser, in one transaction, so
    /// that a link works exactly once even when two browsers race.
    pub async fn create_organiser_from_token(
        &self,
        purpose: TokenPurpose,
        token_hash: &str,
        email: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Organiser, CreateOrganiserError> {
        let now = to_db(now);
        let mut tx = self.pool().begin().await.map_err(StoreError::from)?;
        let used: Option<(i64, i64)> = sqlx::query_as(
            "UPDATE one_time_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
             RETURNING id, grants_admin",
        )
        .bind(&now)
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let Some((_, grants_admin)) = used else {
            return Err(CreateOrganiserError::LinkUnusable);
        };
        // The first account runs the installation, so it is an admin.
        let is_admin = purpose == TokenPurpose::Setup || grants_admin != 0;
        if purpose == TokenPurpose::Setup {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM organisers")
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from)?;
            if n > 0 {
                return Err(CreateOrganiserError::LinkUnusable);
            }
        }
        let inserted: Option<Organiser> = sqlx::query_as(
            "INSERT INTO organisers (email, password_hash, created_at, is_admin) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (email) DO NOTHING \
             RETURNING id, email, password_hash, created_at, last_login_at, is_admin",
        )
        .bind(email)
        .bind(password_hash)
        .bind(&now)
        .bind(i64::from(is_admin))
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let Some(organiser) = inserted else {
            return Err(CreateOrganiserError::EmailTaken);
        };
        tx.commit().await.map_err(StoreError::from)?;
        Ok(organiser)
    }

    pub async fn record_login(
        &self,
        organiser_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE organisers SET last_login_at = $1 WHERE id = $2")
            .bind(to_db(now))
            .bind(organiser_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn create_session(
        &self,
        organiser_id: i64,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, organiser_id, created_at, expires_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $3)",
        )
        .bind(token_hash)
        .bind(organiser_id)
        .bind(to_db(now))
        .bind(to_db(expires_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn find_session_organiser(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Organiser>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT o.id, o.email, o.password_hash, o.created_at, o.last_login_at, o.is_admin \
             FROM sessions s JOIN organisers o ON o.id = s.organiser_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND o.disabled_at IS NULL",
        )
        .bind(token_hash)
        .bind(to_db(now))
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn create_api_token(
        &self,
        organiser_id: i64,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<i64, StoreError> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO api_tokens (organiser_id, name, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(organiser_id)
        .bind(name)
        .bind(token_hash)
        .bind(to_db(now))
        .bind(expires_at.map(to_db))
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    pub async fn list_api_tokens(&self, organiser_id: i64) -> Result<Vec<ApiToken>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, name, created_at, last_used_at, revoked_at, expires_at FROM api_tokens \
             WHERE organiser_id = $1 ORDER BY id DESC",
        )
        .bind(organiser_id)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn revoke_api_token(
        &self,
        organiser_id: i64,
        token_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 \
             WHERE id = $2 AND organiser_id = $3 AND revoked_at IS NULL",
        )
        .bind(to_db(now))
        .bind(token_id)
        .bind(organiser_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The organiser behind a bearer token, noting when it was last used. The note is written
    /// at most once a minute per token ([`API_TOKEN_USE_RESOLUTION_SECONDS`]), so a busy API
    /// client does not turn every read into a write.
    pub async fn use_api_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Organiser>, StoreError> {
        let found: Option<(i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT id, organiser_id, last_used_at FROM api_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL \
               AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(token_hash)
        .bind(to_db(now))
        .fetch_optional(self.pool())
        .await?;
        let Some((token_id, organiser_id, last_used_at)) = found else {
            return Ok(None);
        };
        let stale_before = to_db(now - chrono::Duration::seconds(API_TOKEN_USE_RESOLUTION_SECONDS));
        if last_used_at.is_none_or(|at| at < stale_before) {
            // Another request may have written it meanwhile: then this one writes nothing.
            sqlx::query(
                "UPDATE api_tokens SET last_used_at = $1 \
                 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
            )
            .bind(to_db(now))
            .bind(token_id)
            .bind(&stale_before)
            .execute(self.pool())
            .await?;
        }
        Ok(sqlx::query_as(&format!(
            "SELECT {ORGANISER_COLUMNS} FROM organisers WHERE id = $1 AND disabled_at IS NULL"
        ))
        .bind(organiser_id)
        .fetch_optional(self.pool())
        .await?)
    }
}

/// How stale `api_tokens.last_used_at` may be: it is written at most once per this many seconds.
pub const API_TOKEN_USE_RESOLUTION_SECONDS: i64 = 60;

pub(crate) async fn insert_token(
    tx: &mut Transaction<'_, Any>,
    purpose: TokenPurpose,
    token_hash: &str,
    email: Option<&str>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO one_time_tokens (token_hash, purpose, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(email)
    .bind(to_db(Utc::now()))
    .bind(to_db(expires_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Writes an invitation link and its email in one transaction.
    pub async fn invite_organiser(
        &self,
        token_hash: &str,
        email: &str,
        expires_at: DateTime<Utc>,
        grants_admin: bool,
        message: &super::outbox::NewEmail,
        message_domain: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        insert_token(
            &mut tx,
            TokenPurpose::Invite,
            token_hash,
            Some(email),
            expires_at,
        )
        .await?;
        sqlx::query("UPDATE one_time_tokens SET grants_admin = $1 WHERE token_hash = $2")
            .bind(i64::from(grants_admin))
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        super::outbox::enqueue(&mut tx, message, message_domain, Utc::now()).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// An organiser as the list of accounts shows them.
#[derive(Clone, Debug)]
pub struct OrganiserSummary {
    pub id: i64,
    pub email: String,
    pub is_admin: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl FromRow<'_, AnyRow> for OrganiserSummary {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(OrganiserSummary {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            is_admin: columns::flag(row, "is_admin")?,
            created_at: columns::time(row, "created_at")?,
            last_login_at: columns::optional_time(row, "last_login_at")?,
            disabled_at: columns::optional_time(row, "disabled_at")?,
        })
    }
}

impl OrganiserSummary {
    pub fn is_admin(&self) -> bool {
        self.is_admin
    }
}

/// Why an account could not be disabled.
#[derive(Debug, thiserror::Error)]
pub enum DisableError {
    #[error("there is no organiser with this email address")]
    Unknown,
    #[error("this is the last enabled admin; make another admin first, or nobody could manage the accounts")]
    LastAdmin,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for DisableError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

impl Store {
    pub async fn list_organisers(&self) -> Result<Vec<OrganiserSummary>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, email, is_admin, created_at, last_login_at, disabled_at \
             FROM organisers ORDER BY email",
        )
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn find_organiser_summary(
        &self,
        email: &str,
    ) -> Result<Option<OrganiserSummary>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, email, is_admin, created_at, last_login_at, disabled_at \
             FROM organisers WHERE email = $1",
        )
        .bind(email.trim().to_lowercase())
        .fetch_optional(self.pool())
        .await?)
    }

    /// Disables an account and, in the same transaction, ends its sessions and revokes its API
    /// tokens, so that nothing it held still works once this returns.
    pub async fn disable_organiser(
        &self,
        organiser_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), DisableError> {
        let now = to_db(now);
        let mut tx = self.pool().begin().await.map_err(StoreError::from)?;
        let found: Option<(i64, Option<String>)> =
            sqlx::query_as("SELECT is_admin, disabled_at FROM organisers WHERE id = $1")
                .bind(organiser_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((is_admin, disabled_at)) = found else {
            return Err(DisableError::Unknown);
        };
        if is_admin != 0 && disabled_at.is_none() {
            let (others,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM organisers \
                 WHERE is_admin = 1 AND disabled_at IS NULL AND id <> $1",
            )
            .bind(organiser_id)
            .fetch_one(&mut *tx)
            .await?;
            if others == 0 {
                return Err(DisableError::LastAdmin);
            }
        }
        sqlx::query("UPDATE organisers SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(&now)
            .bind(organiser_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE organiser_id = $1")
            .bind(organiser_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE organiser_id = $2 AND revoked_at IS NULL",
        )
        .bind(&now)
        .bind(organiser_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lets a disabled account sign in again. Its old tokens stay revoked.
    pub async fn enable_organiser(&self, organiser_id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE organisers SET disabled_at = NULL WHERE id = $1")
            .bind(organiser_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Writes a password-reset link and its email in one transaction.
    pub async fn queue_password_reset(
        &self,
        organiser_id: i64,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        message: Option<(&super::outbox::NewEmail, &str)>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        insert_token(&mut tx, TokenPurpose::Reset, token_hash, None, expires_at).await?;
        sqlx::query("UPDATE one_time_tokens SET organiser_id = $1 WHERE token_hash = $2")
            .bind(organiser_id)
            .bind(token_hash)
            .execute(&mut *tx)
            .await?;
        if let Some((message, domain)) = message {
            super::outbox::enqueue(&mut tx, message, domain, Utc::now()).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether a reset link for this account was made since `since` and is still usable.
    pub async fn has_recent_reset(
        &self,
        organiser_id: i64,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM one_time_tokens WHERE purpose = 'reset' AND organiser_id = $1 \
             AND used_at IS NULL AND created_at > $2",
        )
        .bind(organiser_id)
        .bind(to_db(since))
        .fetch_optional(self.pool())
        .await?;
        Ok(found.is_some())
    }

    /// The enabled account a usable reset link belongs to.
    pub async fn find_reset_organiser(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Organiser>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ORGANISER_COLUMNS} FROM organisers WHERE disabled_at IS NULL AND id = \
             (SELECT organiser_id FROM one_time_tokens WHERE token_hash = $1 \
              AND purpose = 'reset' AND used_at IS NULL AND expires_at > $2)"
        ))
        .bind(token_hash)
        .bind(to_db(now))
        .fetch_optional(self.pool())
        .await?)
    }

    /// Uses up a reset link, sets the new password and ends every session of the account, in
    /// one transaction; returns the account, or None when the link is no longer usable.
    pub async fn reset_password(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Organiser>, StoreError> {
        let now = to_db(now);
        let mut tx = self.pool().begin().await?;
        let used: Option<(Option<i64>,)> = sqlx::query_as(
            "UPDATE one_time_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND purpose = 'reset' AND used_at IS NULL AND expires_at > $1 \
             RETURNING organiser_id",
        )
        .bind(&now)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((Some(organiser_id),)) = used else {
            return Ok(None);
        };
        let organiser: Option<Organiser> = sqlx::query_as(&format!(
            "UPDATE organisers SET password_hash = $1 WHERE id = $2 AND disabled_at IS NULL \
             RETURNING {ORGANISER_COLUMNS}"
        ))
        .bind(password_hash)
        .bind(organiser_id)
        .fetch_optional(&mut *tx)
        .await?;
        if organiser.is_none() {
            return Ok(None);
        }
        sqlx::query("DELETE FROM sessions WHERE organiser_id = $1")
            .bind(organiser_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(organiser)
    }

    /// Whether this organiser may see and change the trial: admins always, others by grant.
    pub async fn may_access_trial(
        &self,
        organiser: &Organiser,
        trial_id: i64,
    ) -> Result<bool, StoreError> {
        if organiser.is_admin() {
            return Ok(true);
        }
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT trial_id FROM trial_organisers WHERE trial_id = $1 AND organiser_id = $2",
        )
        .bind(trial_id)
        .bind(organiser.id)
        .fetch_optional(self.pool())
        .await?;
        Ok(found.is_some())
    }

    /// The slugs of the trials this organiser may see, or None for an admin (all of them).
    pub async fn allowed_trial_slugs(
        &self,
        organiser: &Organiser,
    ) -> Result<Option<Vec<String>>, StoreError> {
        if organiser.is_admin() {
            return Ok(None);
        }
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT t.slug FROM trials t JOIN trial_organisers g ON g.trial_id = t.id \
             WHERE g.organiser_id = $1",
        )
        .bind(organiser.id)
        .fetch_all(self.pool())
        .await?;
        Ok(Some(rows.into_iter().map(|(s,)| s).collect()))
    }

    pub async fn grant_trial(
        &self,
        trial_id: i64,
        organiser_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO trial_organisers (trial_id, organiser_id, granted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (trial_id, organiser_id) DO NOTHING",
        )
        .bind(trial_id)
        .bind(organiser_id)
        .bind(to_db(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn revoke_trial(&self, trial_id: i64, organiser_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM trial_organisers WHERE trial_id = $1 AND organiser_id = $2")
            .bind(trial_id)
            .bind(organiser_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The organisers (not admins) granted this trial.
    pub async fn trial_organisers(&self, trial_id: i64) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT o.email FROM organisers o JOIN trial_organisers g ON g.organiser_id = o.id \
             WHERE g.trial_id = $1 ORDER BY o.email",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(e,)| e).collect())
    }
}

impl Store {
    /// Sets exactly who (beyond admins) may manage a trial, in one transaction.
    pub async fn replace_trial_organisers(
        &self,
        trial_id: i64,
        organiser_ids: &[i64],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM trial_organisers WHERE trial_id = $1")
            .bind(trial_id)
            .execute(&mut *tx)
            .await?;
        for organiser_id in organiser_ids {
            sqlx::query(
                "INSERT INTO trial_organisers (trial_id, organiser_id, granted_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (trial_id, organiser_id) DO NOTHING",
            )
            .bind(trial_id)
            .bind(organiser_id)
            .bind(to_db(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Creates a trial and gives its creator access to it (admins see it anyway, but keep the
    /// grant should they stop being one).
    pub async fn create_trial_for(
        &self,
        creator: &Organiser,
        settings: &crate::domain::TrialSettings,
        now: DateTime<Utc>,
    ) -> Result<super::trials::Trial, super::trials::SaveTrialError> {
        let trial = self.create_trial(settings, now).await?;
        self.grant_trial(trial.id, creator.id, now).await?;
        Ok(trial)
    }
}
