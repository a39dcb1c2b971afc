//! Limits on sign-ups per client address and per email address, counted in memory per
//! instance over a sliding hour: enough to stop one script from flooding the outbox or
//! someone's inbox, without a table to clean up.
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct SignupLimiter {
    window: Duration,
    per_address: usize,
    per_email: usize,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Above this many keys, stale ones are dropped so the map cannot grow without bound.
const PRUNE_ABOVE: usize = 10_000;

impl SignupLimiter {
    pub fn new(per_address: u32, per_email: u32) -> Self {
        Self::with_window(Duration::from_secs(3600), per_address, per_email)
    }

    pub fn with_window(window: Duration, per_address: u32, per_email: u32) -> Self {
        Self {
            window,
            per_address: per_address as usize,
            per_email: per_email as usize,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one sign-up attempt from `address`; false when over the limit.
    pub fn allow_address(&self, address: &str) -> bool {
        self.allow(format!("addr:{address}"), self.per_address)
    }

    /// Counts one sign-up for `email` (already normalised); false when over the limit.
    pub fn allow_email(&self, email: &str) -> bool {
        self.allow(format!("email:{email}"), self.per_email)
    }

    fn allow(&self, key: String, limit: usize) -> bool {
        let mut map = self.hits.lock().expect("limiter lock");
        let now = Instant::now();
        let window = self.window;
        let fresh = |q: &mut VecDeque<Instant>| {
            while q.front().is_some_and(|t| now.duration_since(*t) > window) {
                q.pop_front();
            }
        };
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, q| {
                fresh(q);
                !q.is_empty()
            });
        }
        let q = map.entry(key).or_default();
        fresh(q);
        if q.len() >= limit {
            return false;
        }
        q.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_key_separately_within_the_window() {
        let l = SignupLimiter::new(3, 2);
        assert!(l.allow_email("a@x.org"));
        assert!(l.allow_email("a@x.org"));
        assert!(!l.allow_email("a@x.org"), "third for the same address");
        assert!(l.allow_email("b@x.org"));
        assert!(l.allow_address("1.1.1.1"));
        assert!(l.allow_address("1.1.1.1"));
        assert!(l.allow_address("1.1.1.1"));
        assert!(!l.allow_address("1.1.1.1"));
        assert!(l.allow_address("2.2.2.2"));
    }

    #[test]
    fn old_attempts_stop_counting() {
        let l = SignupLimiter::with_window(Duration::from_millis(20), 1, 1);
        assert!(l.allow_email("a@x.org"));
        assert!(!l.allow_email("a@x.org"));
        std::thread::sleep(Duration::from_millis(40));
        assert!(l.allow_email("a@x.org"));
    }
}
