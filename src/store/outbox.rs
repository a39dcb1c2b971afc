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
    /// Attachments as a JSON array of {filename, content_type, content}.
    pub attachments_json: String,
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
         body_text, body_html, headers_json, attachments_json, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
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
    .bind(&email.attachments_json)
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

// ---- Delivery: claiming, recording outcomes, progress and the console's retry. ----

/// A message claimed for sending: everything needed to build it, and the lease that marks the
/// claim as this worker's. Every outcome is recorded only while that lease still holds, so a
/// worker that overran its lease cannot undo what another one has done since.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClaimedEmail {
    pub id: i64,
    pub message_id: String,
    pub to_address: String,
    pub participant_id: Option<i64>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub headers_json: String,
    pub attachments_json: String,
    /// Including this one.
    pub attempts: i64,
    pub lease_until: String,
}

/// How far the delivery of a set of messages has come.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxProgress {
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
}

impl OutboxProgress {
    pub fn total(&self) -> i64 {
        self.queued + self.sending + self.sent + self.failed
    }

    fn from_rows(rows: Vec<(String, i64)>) -> Self {
        let mut p = Self::default();
        for (state, n) in rows {
            match state.as_str() {
                "queued" => p.queued = n,
                "sending" => p.sending = n,
                "sent" => p.sent = n,
                "failed" => p.failed = n,
                _ => {}
            }
        }
        p
    }
}

/// A message that gave up, for the console.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FailedEmail {
    pub id: i64,
    pub template: String,
    pub to_address: String,
    pub subject: String,
    pub last_error: Option<String>,
    pub attempts: i64,
    pub created_at: String,
}

const CLAIMED_COLUMNS: &str = "id, message_id, to_address, participant_id, subject, body_text, \
     body_html, headers_json, attachments_json, attempts, lease_until";

impl super::Store {
    /// Claims up to `limit` messages that are due, or whose sender's lease ran out (it died
    /// mid-send), and leases them until `lease_until`. PostgreSQL skips rows another worker is
    /// claiming at the same moment; SQLite runs one write at a time, so its single
    /// `UPDATE ... RETURNING` is already exclusive.
    pub async fn claim_due_emails(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedEmail>, StoreError> {
        let lock = match self.backend() {
            super::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            super::Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET state = 'sending', lease_until = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox \
               WHERE (state = 'queued' AND next_attempt_at <= $2) \
                  OR (state = 'sending' AND lease_until < $2) \
               ORDER BY next_attempt_at, id LIMIT $3{lock}) \
             RETURNING {CLAIMED_COLUMNS}"
        );
        let mut claimed: Vec<ClaimedEmail> = sqlx::query_as(&sql)
            .bind(to_db(lease_until))
            .bind(to_db(now))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        claimed.sort_by_key(|e| e.id);
        Ok(claimed)
    }

    /// Records a delivery. False when the lease was lost to another worker meanwhile.
    pub async fn mark_email_sent(
        &self,
        email: &ClaimedEmail,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'sent', sent_at = $1, lease_until = NULL \
             WHERE id = $2 AND state = 'sending' AND lease_until = $3",
        )
        .bind(to_db(now))
        .bind(email.id)
        .bind(&email.lease_until)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts a message back in the queue after a failed attempt, keeping the error.
    pub async fn schedule_email_retry(
        &self,
        email: &ClaimedEmail,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'queued', next_attempt_at = $1, last_error = $2, \
             lease_until = NULL WHERE id = $3 AND state = 'sending' AND lease_until = $4",
        )
        .bind(to_db(next_attempt_at))
        .bind(error)
        .bind(email.id)
        .bind(&email.lease_until)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives up on a message, keeping the error. With `attention`, the participant it was for
    /// is flagged in the same transaction, so a refused address is never silently dropped.
    pub async fn mark_email_failed(
        &self,
        email: &ClaimedEmail,
        error: &str,
        attention: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE outbox SET state = 'failed', last_error = $1, lease_until = NULL \
             WHERE id = $2 AND state = 'sending' AND lease_until = $3",
        )
        .bind(error)
        .bind(email.id)
        .bind(&email.lease_until)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if let (Some(reason), Some(participant_id)) = (attention, email.participant_id) {
            sqlx::query(
                "UPDATE participants SET needs_attention = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(reason)
            .bind(to_db(now))
            .bind(participant_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Hands a claimed message back unsent (the worker is stopping), without counting the
    /// attempt.
    pub async fn release_email(&self, email: &ClaimedEmail) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'queued', attempts = attempts - 1, lease_until = NULL \
             WHERE id = $1 AND state = 'sending' AND lease_until = $2",
        )
        .bind(email.id)
        .bind(&email.lease_until)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Delivery progress of the emails of one round.
    pub async fn outbox_progress_for_round(
        &self,
        round_id: i64,
    ) -> Result<OutboxProgress, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM outbox WHERE round_id = $1 GROUP BY state")
                .bind(round_id)
                .fetch_all(self.pool())
                .await?;
        Ok(OutboxProgress::from_rows(rows))
    }

    /// Delivery progress of every email.
    pub async fn outbox_progress(&self) -> Result<OutboxProgress, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM outbox GROUP BY state")
                .fetch_all(self.pool())
                .await?;
        Ok(OutboxProgress::from_rows(rows))
    }

    /// Failed messages, newest first.
    pub async fn list_failed_emails(&self, limit: i64) -> Result<Vec<FailedEmail>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, template, to_address, subject, last_error, attempts, created_at \
             FROM outbox WHERE state = 'failed' ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Queues a failed message again with a fresh set of attempts. False when it is not (or no
    /// longer) failed.
    pub async fn retry_failed_email(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = $1 \
             WHERE id = $2 AND state = 'failed'",
        )
        .bind(to_db(now))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues every failed message again; answers how many.
    pub async fn retry_all_failed_emails(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = $1 \
             WHERE state = 'failed'",
        )
        .bind(to_db(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}
