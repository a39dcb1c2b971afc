//! Organiser accounts, their sessions and API tokens, and one-time link tokens.
use chrono::{DateTime, Utc};
use sqlx::{Any, FromRow, Transaction};

use super::time::to_db;
use super::{Store, StoreError};

#[derive(Clone, Debug, FromRow)]
pub struct Organiser {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub created_at: String,
    pub last_login_at: Option<String>,
}

#[derive(Clone, Debug, FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// What a one-time link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPurpose {
    Setup,
    Invite,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Setup => "setup",
            TokenPurpose::Invite => "invite",
        }
    }
}

#[derive(Clone, Debug, FromRow)]
pub struct OneTimeToken {
    pub id: i64,
    pub purpose: String,
    pub email: Option<String>,
    pub expires_at: String,
    pub used_at: Option<String>,
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
        Ok(sqlx::query_as(
            "SELECT id, email, password_hash, created_at, last_login_at FROM organisers \
             WHERE email = $1 AND disabled_at IS NULL",
        )
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
        let used: Option<(i64,)> = sqlx::query_as(
            "UPDATE one_time_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
             RETURNING id",
        )
        .bind(&now)
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if used.is_none() {
            return Err(CreateOrganiserError::LinkUnusable);
        }
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
            "INSERT INTO organisers (email, password_hash, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (email) DO NOTHING \
             RETURNING id, email, password_hash, created_at, last_login_at",
        )
        .bind(email)
        .bind(password_hash)
        .bind(&now)
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
            "SELECT o.id, o.email, o.password_hash, o.created_at, o.last_login_at \
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
    ) -> Result<i64, StoreError> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO api_tokens (organiser_id, name, token_hash, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(organiser_id)
        .bind(name)
        .bind(token_hash)
        .bind(to_db(now))
        .fetch_one(self.pool())
        .await?;
        Ok(id)
    }

    pub async fn list_api_tokens(&self, organiser_id: i64) -> Result<Vec<ApiToken>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens \
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

    /// The organiser behind a bearer token, noting when it was last used.
    pub async fn use_api_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Organiser>, StoreError> {
        let found: Option<(i64,)> = sqlx::query_as(
            "UPDATE api_tokens SET last_used_at = $1 \
             WHERE token_hash = $2 AND revoked_at IS NULL RETURNING organiser_id",
        )
        .bind(to_db(now))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some((organiser_id,)) = found else {
            return Ok(None);
        };
        Ok(sqlx::query_as(
            "SELECT id, email, password_hash, created_at, last_login_at FROM organisers \
             WHERE id = $1 AND disabled_at IS NULL",
        )
        .bind(organiser_id)
        .fetch_optional(self.pool())
        .await?)
    }
}

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
        super::outbox::enqueue(&mut tx, message, message_domain, Utc::now()).await?;
        tx.commit().await?;
        Ok(())
    }
}
