//! The outbox: every email is written here in the same transaction as the change that caused
//! it, and only the delivery worker talks to the mail server.
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

use super::time::to_db;
use super::{columns, StoreError};
use crate::domain::OutboxState;

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

/// A Message-ID that sorts by the time it was made, so that the outbox's unique index over
/// them grows at its end (see [`crate::tokens::time_ordered_id`]).
pub(crate) fn new_message_id(message_domain: &str, now: DateTime<Utc>) -> String {
    format!("<{}@{message_domain}>", crate::tokens::time_ordered_id(now))
}

/// Queues an email inside the caller's transaction and returns its Message-ID, which stays the
/// same across retries so that receivers can spot duplicates.
pub async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    email: &NewEmail,
    message_domain: &str,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let message_id = new_message_id(message_domain, now);
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

#[derive(Clone, Debug)]
pub struct QueuedEmail {
    pub id: i64,
    pub message_id: String,
    pub template: String,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub state: OutboxState,
}

impl FromRow<'_, AnyRow> for QueuedEmail {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(QueuedEmail {
            id: row.try_get("id")?,
            message_id: row.try_get("message_id")?,
            template: row.try_get("template")?,
            to_address: row.try_get("to_address")?,
            subject: row.try_get("subject")?,
            body_text: row.try_get("body_text")?,
            body_html: row.try_get("body_html")?,
            state: columns::word(row, "state", OutboxState::parse)?,
        })
    }
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

    fn from_rows(rows: Vec<(String, i64)>) -> Result<Self, sqlx::Error> {
        let mut p = Self::default();
        for (state, n) in rows {
            match columns::stored("state", &state, OutboxState::parse)? {
                OutboxState::Queued => p.queued = n,
                OutboxState::Sending => p.sending = n,
                OutboxState::Sent => p.sent = n,
                OutboxState::Failed => p.failed = n,
            }
        }
        Ok(p)
    }
}

/// A message that gave up, for the console.
#[derive(Clone, Debug)]
pub struct FailedEmail {
    pub id: i64,
    pub template: String,
    pub to_address: String,
    pub subject: String,
    pub last_error: Option<String>,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
}

impl FromRow<'_, AnyRow> for FailedEmail {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(FailedEmail {
            id: row.try_get("id")?,
            template: row.try_get("template")?,
            to_address: row.try_get("to_address")?,
            subject: row.try_get("subject")?,
            last_error: row.try_get("last_error")?,
            attempts: row.try_get("attempts")?,
            created_at: columns::time(row, "created_at")?,
        })
    }
}

/// A message waiting for its next attempt, for the console.
#[derive(Clone, Debug)]
pub struct WaitingEmail {
    pub id: i64,
    pub template: String,
    pub to_address: String,
    pub subject: String,
    pub last_error: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
}

impl FromRow<'_, AnyRow> for WaitingEmail {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(WaitingEmail {
            id: row.try_get("id")?,
            template: row.try_get("template")?,
            to_address: row.try_get("to_address")?,
            subject: row.try_get("subject")?,
            last_error: row.try_get("last_error")?,
            attempts: row.try_get("attempts")?,
            next_attempt_at: columns::time(row, "next_attempt_at")?,
        })
    }
}

/// Delivery is failing: since when, and the latest error (never an address).
#[derive(Clone, Debug)]
pub struct DeliveryFailing {
    pub failing_since: DateTime<Utc>,
    pub last_error: Option<String>,
}

impl FromRow<'_, AnyRow> for DeliveryFailing {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(DeliveryFailing {
            failing_since: columns::time(row, "failing_since")?,
            last_error: row.try_get("last_error")?,
        })
    }
}

/// The messages a sender may claim, oldest first, to be followed by `LIMIT`: queued ones that
/// are due (`$2` is now), and those whose sender's lease ran out. A message in `sending`
/// keeps the `next_attempt_at` it was claimed at, which was due then, so one range over
/// `next_attempt_at` covers both kinds. Written so, the query walks `outbox_waiting_idx` in
/// its own order and stops at the limit. The earlier `(queued AND due) OR (sending AND
/// lapsed)` went through the `(state, next_attempt_at)` index instead and sorted what it
/// found: on SQLite every waiting message (tens of thousands after a burst of sign-ups), on
/// PostgreSQL every `sending` entry, dead ones included, until autovacuum came round.
/// SQLite is told which index to use, as its planner still prefers the other one.
pub fn due_emails(backend: &super::Backend) -> String {
    let index = match backend {
        super::Backend::Sqlite => " INDEXED BY outbox_waiting_idx",
        super::Backend::Postgres => "",
    };
    format!(
        "SELECT id FROM outbox{index} \
         WHERE state IN ('queued', 'sending') AND next_attempt_at <= $2 \
           AND (state = 'queued' OR lease_until < $2) \
         ORDER BY next_attempt_at, id"
    )
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
             WHERE id IN ({due} LIMIT $3{lock}) \
             RETURNING {CLAIMED_COLUMNS}",
            due = due_emails(self.backend())
        );
        let mut claimed: Vec<ClaimedEmail> = sqlx::query_as(&sql)
            .bind(to_db(lease_until))
            .bind(to_db(now))
            .bind(limit)
            .fetch_all(self.writer())
            .await?;
        claimed.sort_by_key(|e| e.id);
        Ok(claimed)
    }

    /// Extends the lease on a message this worker holds, before and while sending it, so that
    /// no other worker takes it over mid-send. False when the lease was already lost; then
    /// the message must not be sent. On success `email.lease_until` is the new lease.
    pub async fn renew_email_lease(
        &self,
        email: &mut ClaimedEmail,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let new_lease = to_db(lease_until);
        let done = sqlx::query(
            "UPDATE outbox SET lease_until = $1 \
             WHERE id = $2 AND state = 'sending' AND lease_until = $3",
        )
        .bind(&new_lease)
        .bind(email.id)
        .bind(&email.lease_until)
        .execute(self.writer())
        .await?;
        if done.rows_affected() == 1 {
            email.lease_until = new_lease;
            return Ok(true);
        }
        Ok(false)
    }

    /// Records a delivery. False when the lease was lost to another worker meanwhile. Mail
    /// to the person went through, so a refused address they were flagged for is cleared by
    /// the same statement (a trigger, migration 0078): one statement, no transaction to open.
    pub async fn mark_email_sent(
        &self,
        email: &ClaimedEmail,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let recorded = self
            .mark_emails_sent(&[(email.id, email.lease_until.as_str())], now)
            .await?;
        Ok(!recorded.is_empty())
    }

    /// [`Store::mark_email_sent`] for several messages at once, each `(id, lease_until)`;
    /// answers the ids recorded (not those whose lease was lost meanwhile).
    pub async fn mark_emails_sent(
        &self,
        sent: &[(i64, &str)],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        if sent.is_empty() {
            return Ok(Vec::new());
        }
        let each: Vec<String> = (0..sent.len())
            .map(|i| format!("(id = ${} AND lease_until = ${})", 2 + i * 2, 3 + i * 2))
            .collect();
        let sql = format!(
            "UPDATE outbox SET state = 'sent', sent_at = $1, lease_until = NULL \
             WHERE state = 'sending' AND ({}) RETURNING id",
            each.join(" OR ")
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(to_db(now));
        for (id, lease_until) in sent {
            query = query.bind(*id).bind(*lease_until);
        }
        Ok(query.fetch_all(self.writer()).await?)
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
        .execute(self.writer())
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
        let mut tx = self.writer().begin().await?;
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
        .execute(self.writer())
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
        Ok(OutboxProgress::from_rows(rows)?)
    }

    /// Delivery progress of every email.
    pub async fn outbox_progress(&self) -> Result<OutboxProgress, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM outbox GROUP BY state")
                .fetch_all(self.pool())
                .await?;
        Ok(OutboxProgress::from_rows(rows)?)
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

    /// Makes every waiting message due now ("Retry now" after an outage); answers how many.
    pub async fn retry_waiting_emails_now(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1 \
             WHERE state IN ('queued', 'sending') AND state = 'queued' AND next_attempt_at > $1",
        )
        .bind(to_db(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Messages waiting for another attempt after a failed one, soonest first.
    pub async fn list_waiting_emails(&self, limit: i64) -> Result<Vec<WaitingEmail>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, template, to_address, subject, last_error, attempts, next_attempt_at \
             FROM outbox WHERE state IN ('queued', 'sending') AND state = 'queued' \
               AND attempts > 0 ORDER BY next_attempt_at, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// How long the oldest message still waiting or being sent has been in the outbox.
    pub async fn oldest_waiting_email(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let (oldest,): (Option<String>,) = sqlx::query_as(
            "SELECT MIN(created_at) FROM outbox WHERE state IN ('queued', 'sending')",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(oldest
            .map(|t| columns::stored_time("created_at", &t))
            .transpose()?)
    }

    /// Since when delivery has been failing, and the latest error; `None` while it works.
    pub async fn delivery_failing(&self) -> Result<Option<DeliveryFailing>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT failing_since, last_error FROM delivery_status \
             WHERE id = 1 AND failing_since IS NOT NULL",
        )
        .fetch_optional(self.pool())
        .await?)
    }

    /// Records that delivery started failing (kept if it already was) or, with `None`,
    /// that it works again.
    pub async fn set_delivery_failing(
        &self,
        failing: Option<(&DateTime<Utc>, &str)>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (since, error) = match failing {
            Some((since, error)) => (Some(to_db(*since)), Some(error)),
            None => (None, None),
        };
        sqlx::query(
            "INSERT INTO delivery_status (id, failing_since, last_error, updated_at) \
             VALUES (1, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET \
             failing_since = CASE WHEN $1 IS NULL THEN NULL \
               ELSE COALESCE(delivery_status.failing_since, $1) END, \
             last_error = $2, updated_at = $3",
        )
        .bind(since)
        .bind(error)
        .bind(to_db(now))
        .execute(self.pool())
        .await?;
        Ok(())
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
