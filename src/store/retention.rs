//! Retention: dropping what is no longer needed, in small batches so that SQLite's single
//! writer is never held for long. Each batch is one statement in its own transaction.
use chrono::{DateTime, Utc};

use super::time::to_db;
use super::{Store, StoreError};

/// Rows touched per statement.
pub const BATCH: i64 = 500;

impl Store {
    /// Empties the bodies (text, HTML, attachments) of up to `limit` emails sent before
    /// `sent_before`. The row stays, with its Message-ID, recipient, subject, template and
    /// times, for the audit trail. Returns how many were emptied.
    pub async fn drop_sent_bodies(
        &self,
        sent_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE outbox SET body_text = '', body_html = '', attachments_json = '[]' \
             WHERE id IN (SELECT id FROM outbox WHERE state = 'sent' AND sent_at < $1 \
               AND (body_text <> '' OR body_html <> '' OR attachments_json <> '[]') \
             ORDER BY id LIMIT $2)",
        )
        .bind(to_db(sent_before))
        .bind(limit)
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    /// Deletes up to `limit` emailed links (confirm, manage, feedback, invitations, resets)
    /// that expired before `expired_before`. Returns how many.
    pub async fn delete_expired_links(
        &self,
        expired_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM one_time_tokens WHERE id IN \
             (SELECT id FROM one_time_tokens WHERE expires_at < $1 ORDER BY id LIMIT $2)",
        )
        .bind(to_db(expired_before))
        .bind(limit)
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    /// Deletes up to `limit` organiser sessions that expired before `expired_before`.
    pub async fn delete_expired_sessions(
        &self,
        expired_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM sessions WHERE id IN \
             (SELECT id FROM sessions WHERE expires_at < $1 ORDER BY id LIMIT $2)",
        )
        .bind(to_db(expired_before))
        .bind(limit)
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    /// How many sent emails still hold a body (for tests and the curious operator).
    pub async fn count_sent_with_bodies(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM outbox WHERE state = 'sent' \
             AND (body_text <> '' OR body_html <> '' OR attachments_json <> '[]')",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }
}
