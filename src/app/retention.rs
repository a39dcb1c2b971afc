//! Retention: what the service stops keeping, and when. Run by the background loop in `serve`
//! (see `schedule::Scheduler`) at most once an hour per instance; safe to run on several
//! instances at once, since each step only removes what is already past its time.
//!
//! - Sent emails lose their bodies after `OUTBOX_RETENTION_DAYS` (default 30). The row stays
//!   with its Message-ID, recipient, subject and times, for the audit trail.
//! - Emailed links are deleted a week after they expired (for that week a late click still
//!   gets "this link has expired" rather than "unknown link").
//! - Organiser sessions are deleted once expired.
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};

use crate::store::retention::BATCH;
use crate::store::{Store, StoreError};

/// How long an expired link is kept, so a late click is told it expired.
pub const EXPIRED_LINK_GRACE_DAYS: i64 = 7;
/// How often an instance runs the retention steps.
pub const RUN_EVERY: StdDuration = StdDuration::from_secs(3600);

/// What one run removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub bodies_dropped: u64,
    pub links_deleted: u64,
    pub sessions_deleted: u64,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        *self == Report::default()
    }
}

/// The retention settings (`OUTBOX_RETENTION_DAYS`, default 30, read in `config`).
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub outbox_retention_days: u32,
}

/// Runs every step until nothing is left to remove, one batch per statement.
pub async fn run(store: &Store, policy: Policy, now: DateTime<Utc>) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let sent_before = now - Duration::days(i64::from(policy.outbox_retention_days));
    report.bodies_dropped = in_batches(|| store.drop_sent_bodies(sent_before, BATCH)).await?;
    let link_cutoff = now - Duration::days(EXPIRED_LINK_GRACE_DAYS);
    report.links_deleted = in_batches(|| store.delete_expired_links(link_cutoff, BATCH)).await?;
    report.sessions_deleted = in_batches(|| store.delete_expired_sessions(now, BATCH)).await?;
    Ok(report)
}

async fn in_batches<F, Fut>(mut step: F) -> Result<u64, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let mut total = 0;
    loop {
        let n = step().await?;
        total += n;
        if n < BATCH as u64 {
            return Ok(total);
        }
        // Let other writers in between batches.
        tokio::task::yield_now().await;
    }
}

/// The background loop's handle on retention: runs [`run`] on its first tick and then at most
/// once per [`RUN_EVERY`], logging what it removed (counts only).
pub struct Retention {
    policy: Policy,
    last_run: Option<Instant>,
}

impl Retention {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            last_run: None,
        }
    }

    pub async fn tick(&mut self, store: &Store, now: DateTime<Utc>) {
        if self.last_run.is_some_and(|at| at.elapsed() < RUN_EVERY) {
            return;
        }
        self.last_run = Some(Instant::now());
        match run(store, self.policy, now).await {
            Ok(r) if !r.is_empty() => tracing::info!(
                bodies_dropped = r.bodies_dropped,
                links_deleted = r.links_deleted,
                sessions_deleted = r.sessions_deleted,
                "retention: run"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "retention: run failed"),
        }
    }
}
