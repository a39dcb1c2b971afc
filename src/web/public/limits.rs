//! Limits on sign-ups per client address and per email address over an hour: enough to stop
//! one script from flooding the outbox or someone's inbox. Counted in the database, so every
//! instance shares them and old counts are deleted.
use std::net::IpAddr;

use chrono::Utc;

use crate::app::limits::{Decision, RateLimits};
use crate::store::StoreError;

const WINDOW_SECONDS: i64 = 3600;

pub struct SignupLimiter {
    limits: RateLimits,
    per_address: u32,
    per_email: u32,
}

impl SignupLimiter {
    pub fn new(limits: RateLimits, per_address: u32, per_email: u32) -> Self {
        Self {
            limits,
            per_address,
            per_email,
        }
    }

    /// Counts one sign-up attempt from `address`.
    pub async fn allow_address(&self, address: IpAddr) -> Result<Decision, StoreError> {
        let key = self.limits.key("signup-address", &[&address.to_string()]);
        self.allow(&key, self.per_address).await
    }

    /// Counts one sign-up for `email`, as given (the caller normalises it).
    pub async fn allow_email(&self, email: &str) -> Result<Decision, StoreError> {
        let key = self.limits.key("signup-email", &[email]);
        self.allow(&key, self.per_email).await
    }

    async fn allow(&self, key: &str, limit: u32) -> Result<Decision, StoreError> {
        let usage = self.limits.hit(key, WINDOW_SECONDS, Utc::now()).await?;
        Ok(if usage.recent > f64::from(limit) {
            // The next attempt counts too, so it needs room for one more.
            Decision::Wait(usage.seconds_until_at_most(f64::from(limit) - 1.0))
        } else {
            Decision::Allow
        })
    }
}
