//! The outbox as operators see it: what waits, what failed, whether delivery is failing, and
//! sending again. The worker that delivers lives in `mail::worker`.
use chrono::{DateTime, Utc};

use crate::store::outbox::{DeliveryFailing, FailedEmail, OutboxProgress, WaitingEmail};
use crate::store::{Store, StoreError};

/// What the outbox page and `coffee-trials outbox status` show.
pub struct OutboxState {
    pub counts: OutboxProgress,
    pub failed: Vec<FailedEmail>,
    pub waiting: Vec<WaitingEmail>,
    pub failing: Option<DeliveryFailing>,
}

/// The counts, the latest `listed` failed and waiting emails, and whether delivery is failing.
pub async fn state(store: &Store, listed: i64) -> Result<OutboxState, StoreError> {
    Ok(OutboxState {
        counts: store.outbox_progress().await?,
        failed: store.list_failed_emails(listed).await?,
        waiting: store.list_waiting_emails(listed).await?,
        failing: store.delivery_failing().await?,
    })
}

/// How many emails of one round wait, are being sent, were sent and failed.
pub async fn progress_for_round(
    store: &Store,
    round_id: i64,
) -> Result<OutboxProgress, StoreError> {
    store.outbox_progress_for_round(round_id).await
}

/// Queues one failed email again; one that is no longer failed is left alone.
pub async fn send_failed_again(
    store: &Store,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    store.retry_failed_email(id, now).await
}

/// Queues every failed email again.
pub async fn send_all_failed_again(store: &Store, now: DateTime<Utc>) -> Result<u64, StoreError> {
    store.retry_all_failed_emails(now).await
}

/// "Retry now": every email waiting for another attempt is due at once.
pub async fn retry_waiting_now(store: &Store, now: DateTime<Utc>) -> Result<u64, StoreError> {
    store.retry_waiting_emails_now(now).await
}

/// The database's figures for `/metrics`.
pub async fn metrics_snapshot(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<crate::store::metrics::Snapshot, StoreError> {
    store.metrics_snapshot(now).await
}
