//! The web's sign-ups: the limits per client address and per email address, and the writing of
//! the sign-up itself, done in batches.
//!
//! Every sign-up is a few short writes (two limit counts, the person, the links, the email).
//! One at a time, each with its own transaction, they spent most of their time handing the
//! database connection between tasks and threads: SQLite has one writer, so sixteen requests
//! queued for it while it was mostly idle. Here a request does everything that needs no
//! database first, then hands its writes to a writer task, which takes whatever has queued up
//! meanwhile and writes it all in one transaction. Each request still gets its own answer, and
//! nothing is answered before its transaction has committed.
//!
//! The counts stay in the database (`rate_limits`), shared by every instance: a batch counts
//! a request's limits in order, stopping at the first refusal, in the same transaction as the
//! sign-up they allow.
//!
//! The trial a sign-up names is read once a second at most ([`KnownTrials`]): on PostgreSQL
//! that read, with the pool's check of the connection it hands back, was two of the five or
//! so round trips each sign-up cost (a batch of four then shared about eleven).
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::app::limits::{self, Decision, RateLimits};
use crate::app::participants::{self, ParticipantError, PreparedSignUp};
use crate::domain::{MembershipState, ParticipantDetails};
use crate::mail::foreground::Foreground;
use crate::store::signup_batch::{self, NewSignUp, UsualSignUp, Written};
use crate::store::trials::{self, Trial};
use crate::store::{Backend, Store, StoreError};

const WINDOW_SECONDS: i64 = 3600;
/// At most this many requests share a transaction: enough to empty the queue under load,
/// small enough that one batch stays a few milliseconds.
const MAX_BATCH: usize = 64;
/// Requests waiting for a writer before new ones wait to be queued at all.
const QUEUE_LENGTH: usize = 4096;

/// What a sign-up request came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Over a limit: try again after this many seconds. Nothing was recorded.
    Wait(u64),
    /// Counted, and recorded when it was valid: for an event, with the token of the person's
    /// event page.
    Done(Option<String>),
}

struct Job {
    /// (key, limit) in the order they are counted.
    limits: Vec<(String, u32)>,
    sign_up: Option<PreparedSignUp>,
    now: DateTime<Utc>,
    reply: oneshot::Sender<Result<Decision, ParticipantError>>,
}

/// The sign-up limits and the writers behind them. Cheap to share; the writer tasks stop when
/// the last copy is dropped.
pub struct SignUpDesk {
    limits: RateLimits,
    per_address: u32,
    per_email: u32,
    base_url: url::Url,
    queue: mpsc::Sender<Job>,
    /// Every attempt is counted here, so that delivery gives way to a crowd.
    foreground: Foreground,
    trials: KnownTrials,
}

impl SignUpDesk {
    /// Starts the writers: one on SQLite (it has one writer anyway), two on PostgreSQL. More
    /// writers make smaller batches, so more statements and commits for the same sign-ups;
    /// one alone leaves the database idle between its batches. With sixteen connections, and
    /// a batch written by one statement, two writers measured 1,886–2,128/s (JSON) where four
    /// measured 1,789–1,891/s, eight 1,751/s and one 1,374/s.
    pub fn start(
        store: &Store,
        limits: RateLimits,
        per_address: u32,
        per_email: u32,
        base_url: url::Url,
        foreground: Foreground,
    ) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE_LENGTH);
        let jobs = Arc::new(Mutex::new(jobs));
        let writers = match store.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => 2,
        };
        for _ in 0..writers {
            tokio::spawn(write_batches(store.clone(), jobs.clone()));
        }
        Self {
            limits,
            per_address,
            per_email,
            base_url,
            queue,
            foreground,
            trials: KnownTrials::default(),
        }
    }

    /// The trial whose short address is `slug`, as a sign-up sees it: read from the database
    /// at most once every [`TRIAL_FRESH`]. An organiser's change saved through this process
    /// (closing sign-ups, a new list of values) is seen at once; one saved through another
    /// instance within that second. A slug that names no trial is asked every time, so a
    /// trial takes sign-ups as soon as it is created, and made-up slugs cannot fill the memory.
    pub async fn trial(&self, slug: &str) -> Result<Option<Trial>, StoreError> {
        // Read before the database, so that an edit saved meanwhile makes this copy old.
        let seen = Seen {
            at: Instant::now(),
            edits: trials::edits_in_this_process(),
        };
        if let Some(trial) = self.trials.fresh(slug, seen) {
            return Ok(Some(trial));
        }
        let found = crate::app::trials::find(self.limits.store(), slug).await?;
        if let Some(trial) = &found {
            self.trials.keep(slug, trial.clone(), seen);
        }
        Ok(found)
    }

    /// One sign-up attempt from `address`. `valid` is the trial and details when the request
    /// was valid; an invalid one is still counted against its address (the caller then shows
    /// its errors), and a valid one against the email address too, and then recorded.
    pub async fn sign_up(
        &self,
        address: IpAddr,
        valid: Option<(&Trial, &ParticipantDetails)>,
        now: DateTime<Utc>,
    ) -> Result<Admission, ParticipantError> {
        self.foreground.arrived();
        let mut counted = vec![(
            self.limits.key("signup-address", &[&address.to_string()]),
            self.per_address,
        )];
        if let Some((_, details)) = valid {
            counted.push((
                self.limits
                    .key("signup-email", &[&details.email.limit_key()]),
                self.per_email,
            ));
        }
        let sign_up = match valid {
            Some((trial, details)) if !trial.is_event() => Some(participants::prepare_sign_up(
                &self.base_url,
                trial,
                details,
                now,
            )?),
            _ => None,
        };
        let programme = sign_up.is_some();
        self.limits.sweep_if_due(now).await?;
        if let Decision::Wait(seconds) = self.submit(counted, sign_up, now).await? {
            return Ok(Admission::Wait(seconds));
        }
        if programme {
            metrics::counter!("signups_total", "kind" => "programme").increment(1);
        }
        match valid {
            // An event sign-up is rare and writes more; it goes the ordinary way.
            Some((trial, details)) if trial.is_event() => Ok(Admission::Done(Some(
                participants::sign_up_at_event(
                    self.limits.store(),
                    &self.base_url,
                    trial,
                    details,
                    now,
                )
                .await?,
            ))),
            _ => Ok(Admission::Done(None)),
        }
    }

    async fn submit(
        &self,
        limits: Vec<(String, u32)>,
        sign_up: Option<PreparedSignUp>,
        now: DateTime<Utc>,
    ) -> Result<Decision, ParticipantError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            limits,
            sign_up,
            now,
            reply,
        };
        self.queue.send(job).await.map_err(|_| writers_gone())?;
        answer.await.map_err(|_| writers_gone())?
    }
}

/// How long a trial read for sign-ups is used without asking the database again.
pub const TRIAL_FRESH: Duration = Duration::from_secs(1);

/// When a trial was read, and how many trial edits this process had saved by then.
#[derive(Clone, Copy, Debug)]
struct Seen {
    at: Instant,
    edits: u64,
}

impl Seen {
    /// Whether a copy read at `self` may still be used at `now`.
    fn still_fresh_at(&self, now: Seen) -> bool {
        self.edits == now.edits && now.at.saturating_duration_since(self.at) < TRIAL_FRESH
    }
}

/// Trials by slug, each with when it was read. Only trials that exist are kept, and an entry
/// that is no longer fresh is never used, so this holds about one entry per trial.
#[derive(Default)]
struct KnownTrials {
    by_slug: std::sync::Mutex<HashMap<String, (Seen, Trial)>>,
}

impl KnownTrials {
    fn fresh(&self, slug: &str, now: Seen) -> Option<Trial> {
        let by_slug = self.by_slug.lock().unwrap_or_else(|e| e.into_inner());
        by_slug
            .get(slug)
            .filter(|(read, _)| read.still_fresh_at(now))
            .map(|(_, trial)| trial.clone())
    }

    fn keep(&self, slug: &str, trial: Trial, read: Seen) {
        let mut by_slug = self.by_slug.lock().unwrap_or_else(|e| e.into_inner());
        // A renamed trial's old slug is never read again: drop what is stale now and then, so
        // that such entries do not pile up.
        if by_slug.len() >= 64 {
            by_slug.retain(|_, (at, _)| at.still_fresh_at(read));
        }
        by_slug.insert(slug.to_string(), (read, trial));
    }
}

/// The writers are gone (the runtime shuts down) or a write panicked.
fn writers_gone() -> ParticipantError {
    ParticipantError::Store(StoreError::Sql(sqlx::Error::WorkerCrashed))
}

/// A writer: takes the first waiting request and every other one already queued (up to
/// [`MAX_BATCH`]), writes them in one transaction, answers each. When the batch fails, each
/// request is written again in a transaction of its own, so one bad request fails alone.
async fn write_batches(store: Store, jobs: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let batch = {
            let mut jobs = jobs.lock().await;
            let Some(first) = jobs.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        match guarded(write(&store, &batch)).await {
            Ok(decisions) => {
                for (job, decision) in batch.into_iter().zip(decisions) {
                    let _ = job.reply.send(Ok(decision));
                }
            }
            Err(e) => {
                if batch.len() > 1 {
                    tracing::warn!(error = %e, size = batch.len(), "a batch of sign-ups failed; writing them one by one");
                }
                for job in batch {
                    let one = guarded(write(&store, std::slice::from_ref(&job)))
                        .await
                        .map(|decisions| decisions[0]);
                    let _ = job.reply.send(one);
                }
            }
        }
    }
}

/// A batch's write with a panic turned into an error: the writer task must outlive any one
/// bad request, or every later sign-up would wait for a writer that is gone. The transaction
/// is rolled back as it is dropped.
async fn guarded(
    write: impl std::future::Future<Output = Result<Vec<Decision>, ParticipantError>>,
) -> Result<Vec<Decision>, ParticipantError> {
    use futures_util::FutureExt;
    match std::panic::AssertUnwindSafe(write).catch_unwind().await {
        Ok(result) => result,
        Err(_) => {
            tracing::error!("writing a batch of sign-ups panicked; its requests get an error");
            Err(writers_gone())
        }
    }
}

/// Writes `jobs` in one transaction, with a few multi-row statements whatever their number:
/// the counts of every limit of every request, then the sign-ups every limit allowed.
/// Requests are taken in order, and a request's limits in theirs, stopping at the first
/// refusal, so two requests on one key see the counts one after another, as if written one by
/// one. A limit counted for a request that an earlier limit refused (the email address of a
/// client over its limit) is taken back before the commit, so a refusal records nothing.
async fn write(store: &Store, jobs: &[Job]) -> Result<Vec<Decision>, ParticipantError> {
    let backend = store.backend();
    let mut tx = store.writer().begin().await?;
    let mut decisions = vec![Decision::Allow; jobs.len()];
    // Hits per key, in the order the requests came: all counted in one statement.
    let mut order: Vec<(String, i64)> = Vec::new();
    for (key, _) in jobs.iter().flat_map(|j| &j.limits) {
        tally(&mut order, key);
    }
    if let Some(first) = jobs.first() {
        let now = first.now;
        let (start, previous, expires) = limits::windows(now, WINDOW_SECONDS);
        let counts = signup_batch::count_hits(
            &mut tx,
            backend,
            &order,
            start,
            previous,
            expires,
            now.timestamp_millis(),
        )
        .await?;
        // The k-th request counted on a key saw the count before the batch plus k.
        let mut seen: HashMap<&str, i64> = HashMap::new();
        let mut taken_back: Vec<(String, i64)> = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            for (key, limit) in &job.limits {
                if decisions[i] != Decision::Allow {
                    tally(&mut taken_back, key);
                    continue;
                }
                let total = order.iter().find(|(k, _)| k == key).map_or(1, |(_, n)| *n);
                let k = seen.entry(key.as_str()).or_insert(0);
                *k += 1;
                let mut at = *counts
                    .get(key)
                    .ok_or(StoreError::Sql(sqlx::Error::RowNotFound))?;
                at.hits -= total - *k;
                decisions[i] = limits::within(&limits::usage_of(&at, WINDOW_SECONDS, now), *limit);
            }
        }
        signup_batch::take_back_hits(&mut tx, &taken_back, start).await?;
    }

    let allowed: Vec<&PreparedSignUp> = jobs
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| **d == Decision::Allow)
        .filter_map(|(job, _)| job.sign_up.as_ref())
        .collect();
    record(&mut tx, backend, &allowed).await?;
    tx.commit().await?;
    Ok(decisions)
}

/// One more hit on `key`, keeping the keys in the order they first came. A batch holds a few
/// dozen keys at most, so a scan is cheaper than a map.
fn tally(counts: &mut Vec<(String, i64)>, key: &str) {
    match counts.iter_mut().find(|(k, _)| k == key) {
        Some((_, n)) => *n += 1,
        None => counts.push((key.to_string(), 1)),
    }
}

/// Writes sign-ups whose limits allowed them in one transaction, as a writer does with a
/// batch (without counting any limit). Whatever a batch holds, it comes out as the same
/// sign-ups written one after another would; the tests hold the two side by side.
pub async fn record_together(
    store: &Store,
    sign_ups: &[PreparedSignUp],
) -> Result<(), ParticipantError> {
    let mut tx = store.writer().begin().await?;
    record_in(&mut tx, store.backend(), sign_ups).await?;
    tx.commit().await?;
    Ok(())
}

/// As [`record_together`], inside the caller's transaction (on a connection of its choice).
pub async fn record_in(
    tx: &mut Transaction<'_, Any>,
    backend: &Backend,
    sign_ups: &[PreparedSignUp],
) -> Result<(), ParticipantError> {
    let all: Vec<&PreparedSignUp> = sign_ups.iter().collect();
    record(tx, backend, &all).await
}

/// The people, memberships, links and emails of the sign-ups in `allowed`, in their order.
async fn record(
    tx: &mut Transaction<'_, Any>,
    backend: &Backend,
    allowed: &[&PreparedSignUp],
) -> Result<(), ParticipantError> {
    let Some(first) = allowed.first() else {
        return Ok(());
    };
    let now = first.now();
    let new: Vec<NewSignUp> = allowed
        .iter()
        .map(|s| NewSignUp {
            trial_id: s.trial_id(),
            details: s.details(),
        })
        .collect();
    // On PostgreSQL one statement writes the usual sign-ups in full; the rest (and every
    // sign-up on SQLite) get their links and email from what they found.
    let landed: Vec<Written> = match backend {
        Backend::Postgres => {
            let usual: Vec<UsualSignUp> = allowed
                .iter()
                .zip(new)
                .map(|(s, sign_up)| UsualSignUp {
                    sign_up,
                    links: s.links_for(MembershipState::Pending),
                    email: s.usual_email(),
                })
                .collect();
            signup_batch::add_usual_sign_ups(tx, &usual, first.message_domain(), now).await?
        }
        Backend::Sqlite => signup_batch::add_members(tx, backend, &new, now)
            .await?
            .into_iter()
            .map(|landed| Written {
                landed,
                complete: false,
            })
            .collect(),
    };
    let mut links = Vec::new();
    let mut emails = Vec::new();
    for (s, written) in allowed.iter().zip(landed) {
        if written.complete {
            continue;
        }
        let l = written.landed;
        for (purpose, hash, expires) in s.links_for(l.state) {
            links.push((l.membership_id, purpose, hash, expires));
        }
        emails.push(s.email_for(l.state, l.name, l.participant_id)?);
    }
    signup_batch::insert_link_tokens(tx, backend, now, &links).await?;
    signup_batch::enqueue(tx, backend, &emails, first.message_domain(), now).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(slug: &str, open: bool) -> Trial {
        let now = Utc::now();
        Trial {
            id: 1,
            slug: slug.into(),
            name: slug.into(),
            description: String::new(),
            kind: crate::domain::TrialKind::Programme,
            attribute_name: String::new(),
            attribute_values: String::new(),
            group_size: 2,
            open_for_signup: open,
            show_on_home: false,
            time_zone: "UTC".into(),
            schedule: None,
            auto_publish: false,
            notice_hours: 24,
            feedback_delay_days: 7,
            event_date: None,
            event_place: None,
            event_planned_rounds: None,
            event_round_minutes: None,
            schedule_since: None,
            created_at: now,
            updated_at: now,
        }
    }

    fn seen(at: Instant, edits: u64) -> Seen {
        Seen { at, edits }
    }

    #[test]
    fn a_kept_trial_is_used_for_a_second_and_then_read_again() {
        let known = KnownTrials::default();
        let start = Instant::now();
        assert!(known.fresh("ward-7", seen(start, 0)).is_none());
        known.keep("ward-7", trial("ward-7", true), seen(start, 0));
        let almost = seen(start + TRIAL_FRESH - Duration::from_millis(1), 0);
        assert!(known
            .fresh("ward-7", almost)
            .is_some_and(|t| t.open_for_signup));
        assert!(known
            .fresh("ward-7", seen(start + TRIAL_FRESH, 0))
            .is_none());
        assert!(known.fresh("ward-8", almost).is_none());
        // Read again: the new reading replaces the old one.
        let later = seen(start + TRIAL_FRESH, 0);
        known.keep("ward-7", trial("ward-7", false), later);
        assert!(known
            .fresh("ward-7", later)
            .is_some_and(|t| !t.open_for_signup));
    }

    #[test]
    fn an_edit_saved_through_this_process_makes_kept_trials_old_at_once() {
        let known = KnownTrials::default();
        let start = Instant::now();
        known.keep("ward-7", trial("ward-7", true), seen(start, 3));
        assert!(known.fresh("ward-7", seen(start, 3)).is_some());
        assert!(known.fresh("ward-7", seen(start, 4)).is_none());
    }

    #[test]
    fn stale_trials_do_not_pile_up() {
        let known = KnownTrials::default();
        let start = Instant::now();
        for n in 0..64 {
            known.keep(&format!("old-{n}"), trial("old", true), seen(start, 0));
        }
        known.keep("new", trial("new", true), seen(start + TRIAL_FRESH, 0));
        let kept = known.by_slug.lock().unwrap().len();
        assert_eq!(kept, 1);
    }
}
