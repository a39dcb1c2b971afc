//! Figures for `/metrics` that live in the database (shared by every instance on it), read
//! when Prometheus scrapes. Each query uses an index or a small table: a scrape stays cheap
//! however many sent messages the outbox keeps.
use chrono::{DateTime, Utc};

use super::{Store, StoreError};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Messages waiting (`queued`), being sent and failed; sent ones are counted by the
    /// senders as they go (`outbox_sent_total`) rather than counted here.
    pub outbox_queued: i64,
    pub outbox_sending: i64,
    pub outbox_failed: i64,
    /// Age of the oldest message still waiting or being sent.
    pub oldest_waiting_seconds: f64,
    pub rounds_published: i64,
}

impl Store {
    pub async fn metrics_snapshot(&self, now: DateTime<Utc>) -> Result<Snapshot, StoreError> {
        let mut s = Snapshot::default();
        // `outbox_due` (state, next_attempt_at) serves these three counts.
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, COUNT(*) FROM outbox WHERE state IN ('queued', 'sending', 'failed') \
             GROUP BY state",
        )
        .fetch_all(self.pool())
        .await?;
        for (state, n) in rows {
            match state.as_str() {
                "queued" => s.outbox_queued = n,
                "sending" => s.outbox_sending = n,
                "failed" => s.outbox_failed = n,
                _ => {}
            }
        }
        s.oldest_waiting_seconds = self
            .oldest_waiting_email()
            .await?
            .map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
        let (published,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM rounds WHERE state = 'published'")
                .fetch_one(self.pool())
                .await?;
        s.rounds_published = published;
        Ok(s)
    }
}
