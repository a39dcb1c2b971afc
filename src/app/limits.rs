//! Rate limits kept in the database, so that several instances share them and old keys are
//! deleted: the counting core, and the sign-in limiter built on it (sign-ups have theirs in
//! `public::limits`).
//!
//! Counts are fixed windows; a limit reads the current window plus the previous one weighted
//! by how much of it still overlaps the last `window` seconds, which behaves like a sliding
//! window without storing every hit.
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::mail;
use crate::store::limits::HitCounts;
use crate::store::{Store, StoreError};
use crate::tokens;

/// Expired windows are deleted at most this often per instance (and on the first hit).
const SWEEP_EVERY_SECONDS: i64 = 60;

/// What a limit decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Refused; the client may try again after this many seconds (at least 1).
    Wait(u64),
}

/// The counters of one key over one window length.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// Hits in the last `window` seconds, estimated from two fixed windows.
    pub recent: f64,
    /// When the latest hit happened, in Unix milliseconds.
    pub last_hit_ms: Option<i64>,
    window: i64,
    elapsed: i64,
    previous: i64,
    current: i64,
}

impl Usage {
    /// Seconds (at least 1) until, with no more hits, `recent` falls to `target` or below.
    pub fn seconds_until_at_most(&self, target: f64) -> u64 {
        let w = self.window as f64;
        let (previous, current) = (self.previous as f64, self.current as f64);
        let seconds = if current > target {
            // Not before the next window, as this one's hits fade out.
            let into_next = (w * (1.0 - target.max(0.0) / current)).ceil();
            (self.window - self.elapsed) as f64 + into_next
        } else if previous > 0.0 {
            let at = (w * (1.0 - (target - current) / previous)).ceil();
            at - self.elapsed as f64
        } else {
            0.0
        };
        seconds.max(1.0) as u64
    }
}

/// Where `now` falls among fixed windows of `window` seconds: the start of its window.
fn window_start(now: i64, window: i64) -> i64 {
    now - now.rem_euclid(window)
}

/// The sliding estimate from the previous and the current window's counts.
fn estimate(now: i64, window: i64, previous: i64, current: i64) -> f64 {
    let elapsed = (now - window_start(now, window)) as f64;
    let overlap = (window as f64 - elapsed) / window as f64;
    previous as f64 * overlap + current as f64
}

/// The window `now` falls in for windows of `window` seconds: its start, the previous one's
/// start, and when a count in it may be deleted.
pub fn windows(now: DateTime<Utc>, window: i64) -> (i64, i64, i64) {
    let start = window_start(now.timestamp(), window);
    (start, start - window, start + 2 * window)
}

/// A key's usage at `now` from its counts right after a hit.
pub fn usage_of(counts: &HitCounts, window: i64, now: DateTime<Utc>) -> Usage {
    let t = now.timestamp();
    let start = window_start(t, window);
    let now_ms = now.timestamp_millis();
    let previous = counts.previous_hits.unwrap_or(0);
    Usage {
        recent: estimate(t, window, previous, counts.hits),
        last_hit_ms: Some(counts.previous_last_hit_ms.unwrap_or(now_ms).max(now_ms)),
        window,
        elapsed: t - start,
        previous,
        current: counts.hits,
    }
}

/// Counts one hit of `key` through `executor` and returns its usage including this hit.
pub async fn hit_with<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    executor: E,
    key: &str,
    window: i64,
    now: DateTime<Utc>,
) -> Result<Usage, StoreError> {
    let (start, previous, expires) = windows(now, window);
    let counts = crate::store::limits::count_hit_and_previous(
        executor,
        key,
        start,
        previous,
        expires,
        now.timestamp_millis(),
    )
    .await?;
    Ok(usage_of(&counts, window, now))
}

/// Whether a limit of `limit` hits allows the hit that `usage` includes.
pub fn within(usage: &Usage, limit: u32) -> Decision {
    if usage.recent > f64::from(limit) {
        // The next attempt counts too, so it needs room for one more.
        Decision::Wait(usage.seconds_until_at_most(f64::from(limit) - 1.0))
    } else {
        Decision::Allow
    }
}

/// The shared counting core: a store, the secret that keys are hashed with, and the time of
/// this instance's last sweep of expired windows.
#[derive(Clone)]
pub struct RateLimits {
    store: Store,
    secret: Arc<str>,
    last_sweep: Arc<AtomicI64>,
}

impl RateLimits {
    pub async fn load(store: &Store) -> Result<Self, StoreError> {
        let secret = store
            .instance_secret("rate_limit_key", tokens::new_token)
            .await?;
        Ok(Self {
            store: store.clone(),
            secret: secret.into(),
            last_sweep: Arc::new(AtomicI64::new(0)),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A key for `kind` and its parts (email addresses, client addresses): a hash with the
    /// instance's secret, so the table holds no personal data and guessing an IPv4 address
    /// from its key takes the secret.
    pub fn key(&self, kind: &str, parts: &[&str]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.secret.as_bytes());
        for part in std::iter::once(kind).chain(parts.iter().copied()) {
            hasher.update([0u8]);
            hasher.update(part.as_bytes());
        }
        let hex: String = hasher
            .finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{kind}:{hex}")
    }

    /// Counts one hit of `key` and returns its usage including this hit: one statement.
    pub async fn hit(
        &self,
        key: &str,
        window: i64,
        now: DateTime<Utc>,
    ) -> Result<Usage, StoreError> {
        self.sweep_if_due(now).await?;
        hit_with(self.store.writer(), key, window, now).await
    }

    /// The usage of `key` without counting anything.
    pub async fn usage(
        &self,
        key: &str,
        window: i64,
        now: DateTime<Utc>,
    ) -> Result<Usage, StoreError> {
        let t = now.timestamp();
        let start = window_start(t, window);
        let rows = self.store.rate_limit_windows(key, start - window).await?;
        let count_at = |s: i64| {
            rows.iter()
                .find(|r| r.window_start == s)
                .map_or(0, |r| r.hits)
        };
        let (previous, current) = (count_at(start - window), count_at(start));
        Ok(Usage {
            recent: estimate(t, window, previous, current),
            last_hit_ms: rows.iter().map(|r| r.last_hit_ms).max(),
            window,
            elapsed: t - start,
            previous,
            current,
        })
    }

    /// Deletes expired windows when this instance has not done so for a while. The first hit
    /// after start always sweeps.
    pub async fn sweep_if_due(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let t = now.timestamp();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if t - last < SWEEP_EVERY_SECONDS
            || self
                .last_sweep
                .compare_exchange(last, t, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return Ok(());
        }
        self.store.delete_expired_rate_limits(t).await?;
        Ok(())
    }
}

/// Failed sign-ins a person gets before any waiting, per account and client address.
const FREE_FAILURES: f64 = 3.0;
/// The first wait, doubled after each further failure.
const FIRST_BACKOFF_SECONDS: u64 = 5;
/// The longest wait between attempts from one address at one account.
const MAX_BACKOFF_SECONDS: u64 = 10 * 60;
const HOUR: i64 = 3600;
/// How long an address stays known for an account after a successful sign-in from it.
const KNOWN_ADDRESS_SECONDS: i64 = 30 * 24 * HOUR;

pub use crate::config::DEFAULT_SIGN_IN_CEILING_PER_HOUR;

/// Seconds to wait after `failures` recent failures: none for the first few, then doubling.
pub fn backoff_seconds(failures: f64) -> u64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES).floor().min(20.0) as u32;
    (FIRST_BACKOFF_SECONDS << doublings).min(MAX_BACKOFF_SECONDS)
}

/// Failed sign-ins slow down the address they come from, for that account only: a stranger's
/// guesses never make the owner wait. Across all addresses an account takes at most
/// `ceiling_per_hour` failures; past that, only addresses the account has signed in from
/// before may try, and the organiser gets one email per hour about it.
pub struct SignInLimiter {
    limits: RateLimits,
    ceiling_per_hour: u32,
    base_url: url::Url,
}

impl SignInLimiter {
    pub fn new(limits: RateLimits, ceiling_per_hour: u32, base_url: url::Url) -> Self {
        Self {
            limits,
            ceiling_per_hour,
            base_url,
        }
    }

    fn pair_key(&self, account: &str, address: IpAddr) -> String {
        self.limits
            .key("signin-fail", &[account, &address.to_string()])
    }

    fn account_key(&self, account: &str) -> String {
        self.limits.key("signin-fail-account", &[account])
    }

    fn known_key(&self, account: &str, address: IpAddr) -> String {
        self.limits
            .key("signin-known", &[account, &address.to_string()])
    }

    /// Whether an attempt may go ahead now; nothing is counted.
    pub async fn check(
        &self,
        account: &str,
        address: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<Decision, StoreError> {
        let pair = self
            .limits
            .usage(&self.pair_key(account, address), HOUR, now)
            .await?;
        let wait_ms = backoff_seconds(pair.recent) as i64 * 1000;
        if let Some(last) = pair.last_hit_ms.filter(|_| wait_ms > 0) {
            let left_ms = last + wait_ms - now.timestamp_millis();
            if left_ms > 0 {
                return Ok(Decision::Wait(((left_ms + 999) / 1000) as u64));
            }
        }
        let whole = self
            .limits
            .usage(&self.account_key(account), HOUR, now)
            .await?;
        if whole.recent >= f64::from(self.ceiling_per_hour) {
            let known = self
                .limits
                .usage(
                    &self.known_key(account, address),
                    KNOWN_ADDRESS_SECONDS,
                    now,
                )
                .await?;
            if known.recent <= 0.0 {
                let ceiling = f64::from(self.ceiling_per_hour);
                return Ok(Decision::Wait(whole.seconds_until_at_most(ceiling - 1.0)));
            }
        }
        Ok(Decision::Allow)
    }

    /// Counts a failed sign-in. When it takes the account to its ceiling, the first time in
    /// the hour, an email to the organiser is queued in the same transaction as the count.
    pub async fn record_failure(
        &self,
        account: &str,
        address: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<(), anyhow::Error> {
        self.limits
            .hit(&self.pair_key(account, address), HOUR, now)
            .await?;
        let whole = self
            .limits
            .hit(&self.account_key(account), HOUR, now)
            .await?;
        if whole.recent >= f64::from(self.ceiling_per_hour) {
            self.alert_once(account, now).await?;
        }
        Ok(())
    }

    /// Queues the "many failed sign-ins" email, at most once per account and fixed hour: the
    /// count and the email are written in one transaction, so neither happens without the other.
    async fn alert_once(&self, account: &str, now: DateTime<Utc>) -> Result<(), anyhow::Error> {
        let store = self.limits.store();
        let Some(organiser) = store.find_organiser_by_email(account).await? else {
            return Ok(());
        };
        let t = now.timestamp();
        let start = window_start(t, HOUR);
        let mut tx = store.pool().begin().await?;
        let alerts = crate::store::limits::count_hit(
            &mut *tx,
            &self.limits.key("signin-alert", &[account]),
            start,
            start + 2 * HOUR,
            now.timestamp_millis(),
        )
        .await?;
        if alerts == 1 {
            let message = mail::render(
                &mail::sign_in_attempts::Context {
                    ceiling_per_hour: self.ceiling_per_hour,
                    console_link: crate::links::link(&self.base_url, "/admin"),
                },
                &organiser.email,
            )?;
            crate::store::outbox::enqueue(
                &mut tx,
                &message,
                &mail::message_domain(&self.base_url),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A successful sign-in: this address's failures for the account are forgotten, and the
    /// address becomes known to the account, so the ceiling does not stop it later.
    pub async fn record_success(
        &self,
        account: &str,
        address: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let store = self.limits.store();
        store
            .forget_rate_limit_key(&self.pair_key(account, address))
            .await?;
        self.limits
            .hit(
                &self.known_key(account, address),
                KNOWN_ADDRESS_SECONDS,
                now,
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_window_fades_out() {
        // Ten seconds into a 100-second window, 90% of the previous one still counts.
        assert_eq!(estimate(1010, 100, 10, 2), 11.0);
        assert_eq!(estimate(1000, 100, 10, 0), 10.0);
        assert_eq!(estimate(1099, 100, 100, 0), 1.0);
        assert_eq!(window_start(1099, 100), 1000);
        assert_eq!(window_start(-1, 100), -100);
    }

    #[test]
    fn the_wait_lasts_until_the_estimate_is_low_enough() {
        let usage = |elapsed, previous, current| Usage {
            recent: estimate(1000 + elapsed, 100, previous, current),
            last_hit_ms: None,
            window: 100,
            elapsed,
            previous,
            current,
        };
        // Five in this window, limit four: the rest of this window and a fifth of the next.
        assert_eq!(usage(40, 0, 5).seconds_until_at_most(4.0), 60 + 20);
        // Ten last window, two now, 80% overlap: 10 * 0.8 + 2 = 10; at most 4 when the overlap
        // is 20%, at 80 seconds in.
        assert_eq!(usage(20, 10, 2).seconds_until_at_most(4.0), 60);
        assert_eq!(usage(20, 0, 2).seconds_until_at_most(4.0), 1);
        assert_eq!(usage(20, 0, 2).seconds_until_at_most(-1.0), 80 + 100);
    }

    #[test]
    fn waits_grow_after_the_free_failures_and_stop_growing() {
        let waits: Vec<u64> = (0..8).map(|n| backoff_seconds(f64::from(n))).collect();
        assert_eq!(waits, [0, 0, 0, 5, 10, 20, 40, 80]);
        assert_eq!(backoff_seconds(1000.0), MAX_BACKOFF_SECONDS);
    }
}
