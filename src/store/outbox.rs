//! The outbox: every email is written here in the same transaction as the change that caused
//! it, and only the delivery worker talks to the mail server.
use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};

use super::time::to_db;
use super::StoreError;

/// A rendered email waiting to be queued.
#[derive(Clone, Debug)]
pub struct NewEmail {
    pub template: &'static str,
    pub to_address: String,
    pub participant_id: Option<i64>,
    pub round_id: Option<i64>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// Extra headers as a JSON object, e.g. List-Unsubscribe.
    pub headers_json: String,
}

/// Queues an email inside the caller's transaction and returns its Message-ID, which stays the
/// same across retries so that receivers can spot duplicates.
pub async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    email: &NewEmail,
    message_domain: &str,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let message_id = format!("<{}@{}>", &crate::tokens::new_token()[..32], message_domain);
    sqlx::query(
        "INSERT INTO outbox (message_id, template, to_address, participant_id, round_id, subject, \
         body_text, body_html, headers_json, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(&message_id)
    .bind(email.template)
    .bind(&email.to_address)
    .bind(email.participant_id)
    .bind(email.round_id)
    .bind(&email.subject)
    .bind(&email.body_text)
    .bind(&email.body_html)
    .bind(&email.headers_json)
    .bind(to_db(now))
    .execute(&mut **tx)
    .await?;
    Ok(message_id)
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct QueuedEmail {
    pub id: i64,
    pub message_id: String,
    pub template: String,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub state: String,
}

impl super::Store {
    /// Messages in the outbox, newest first (for organisers and tests).
    pub async fn list_outbox(&self, limit: i64) -> Result<Vec<QueuedEmail>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, message_id, template, to_address, subject, body_text, body_html, state \
             FROM outbox ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}
