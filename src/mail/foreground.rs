//! Delivery gives way to a burst of sign-ups.
//!
//! A person who presses "Sign up" waits for the answer; their confirmation email can arrive a
//! few seconds later without anyone noticing. Both compete for the same two cores and, on
//! SQLite, the same single writer: measured with sixteen connections on PostgreSQL, sign-ups
//! ran at 890/s while the senders delivered alongside, and at 1,920/s without them. So while
//! sign-ups arrive faster than [`Foreground::BUSY_PER_SECOND`], each sender pauses before it
//! claims more mail, but never for longer than [`GiveWay::longest`] at a time: delivery slows
//! during the burst and never stops, and catches up at full speed once the burst is over.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The sign-ups recently arrived, shared by the sign-up desk (which counts them) and the
/// senders (which read the rate). Cloning shares the count; a fresh one is never busy.
#[derive(Clone, Debug, Default)]
pub struct Foreground {
    windows: Arc<Mutex<Windows>>,
}

/// Arrivals in the current and the previous window of [`WINDOW`].
#[derive(Debug, Default)]
struct Windows {
    started: Option<Instant>,
    current: u32,
    previous: u32,
}

const WINDOW: Duration = Duration::from_millis(250);

impl Windows {
    /// Moves the windows on to `now`.
    fn roll(&mut self, now: Instant) {
        let Some(started) = self.started else {
            self.started = Some(now);
            return;
        };
        let elapsed = now.saturating_duration_since(started);
        if elapsed >= WINDOW * 2 {
            *self = Windows {
                started: Some(now),
                current: 0,
                previous: 0,
            };
        } else if elapsed >= WINDOW {
            self.previous = self.current;
            self.current = 0;
            self.started = Some(started + WINDOW);
        }
    }
}

impl Foreground {
    /// Sign-ups a second above which delivery gives way: far above any steady sign-up page
    /// (an induction of 300 people signing up within two minutes is 2.5 a second), reached
    /// only by a crowd.
    pub const BUSY_PER_SECOND: f64 = 50.0;

    /// A sign-up arrived.
    pub fn arrived(&self) {
        self.arrived_at(Instant::now());
    }

    pub fn arrived_at(&self, now: Instant) {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        w.roll(now);
        w.current = w.current.saturating_add(1);
    }

    /// Sign-ups a second over the last half-second or so.
    pub fn per_second_at(&self, now: Instant) -> f64 {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        w.roll(now);
        let Some(started) = w.started else {
            return 0.0;
        };
        let span = WINDOW + now.saturating_duration_since(started);
        f64::from(w.previous + w.current) / span.as_secs_f64()
    }

    pub fn is_busy_at(&self, now: Instant) -> bool {
        self.per_second_at(now) > Self::BUSY_PER_SECOND
    }
}

/// How a sender gives way.
#[derive(Clone, Debug)]
pub struct GiveWay {
    pub foreground: Foreground,
    /// One pause, after which the rate is read again.
    pub pause: Duration,
    /// The longest a sender gives way before it claims one more batch anyway.
    pub longest: Duration,
}

impl Default for GiveWay {
    /// With eight senders claiming ten messages each, at least about forty messages a second
    /// still go out during a burst.
    fn default() -> Self {
        Self {
            foreground: Foreground::default(),
            pause: Duration::from_millis(100),
            longest: Duration::from_secs(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_count_is_not_busy() {
        let f = Foreground::default();
        assert_eq!(f.per_second_at(Instant::now()), 0.0);
        assert!(!f.is_busy_at(Instant::now()));
    }

    #[test]
    fn a_crowd_is_busy_and_a_steady_trickle_is_not() {
        let start = Instant::now();
        let crowd = Foreground::default();
        // 2,000 a second for one second.
        for i in 0..2000u64 {
            crowd.arrived_at(start + Duration::from_micros(i * 500));
        }
        let end = start + Duration::from_secs(1);
        let rate = crowd.per_second_at(end);
        assert!((1500.0..=2500.0).contains(&rate), "rate {rate}");
        assert!(crowd.is_busy_at(end));

        let trickle = Foreground::default();
        // Ten a second for ten seconds.
        for i in 0..100u64 {
            trickle.arrived_at(start + Duration::from_millis(i * 100));
        }
        let end = start + Duration::from_secs(10);
        assert!(trickle.per_second_at(end) < 20.0);
        assert!(!trickle.is_busy_at(end));
    }

    #[test]
    fn the_burst_is_forgotten_half_a_second_after_it_ends() {
        let start = Instant::now();
        let f = Foreground::default();
        for i in 0..500u64 {
            f.arrived_at(start + Duration::from_micros(i * 400));
        }
        assert!(f.is_busy_at(start + Duration::from_millis(200)));
        assert!(f.is_busy_at(start + Duration::from_millis(300)));
        let later = start + Duration::from_millis(200) + WINDOW * 2;
        assert_eq!(f.per_second_at(later), 0.0);
    }

    #[test]
    fn clones_share_the_count() {
        let start = Instant::now();
        let desk = Foreground::default();
        let sender = desk.clone();
        for i in 0..100u64 {
            desk.arrived_at(start + Duration::from_millis(i));
        }
        assert!(sender.is_busy_at(start + Duration::from_millis(100)));
        assert!(!Foreground::default().is_busy_at(start + Duration::from_millis(100)));
    }
}
