//! Scheduled rounds. Every ~30 seconds `serve` calls [`tick`], which for each programme with a
//! schedule queues the pre-round notice once its time has come, and creates (and, if the trial
//! says so, publishes) the round of the latest slot that has none.
//!
//! Nothing here relies on being the only instance or on remembering anything between ticks:
//! the database decides. `rounds` has UNIQUE (trial_id, slot), so a slot gets one round however
//! many instances tick at once, and `schedule_notices` has one row per (trial, slot), written
//! in the same transaction as the notice emails. After downtime only the latest missed slot
//! runs, because only the latest slot is ever looked at.
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::rounds::{self, RoundError};
use crate::domain::{local_label, Schedule};
use crate::mail::pairing::Organiser;
use crate::mail::{self, round_notice};
use crate::store::round_mail::{claim_notice_for, late_notice_recipients, OpenNotice};
use crate::store::schedule::{
    claim_notice, notice_recipients, record_notice_recipients, NoticeRecipient,
};
use crate::store::signup::LinkPurpose;
use crate::store::trials::Trial;
use crate::store::{outbox, Store, StoreError};

/// What one tick did, summed over the trials.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TickReport {
    /// Programmes with a schedule that were looked at.
    pub trials: usize,
    pub rounds_created: usize,
    pub rounds_published: usize,
    /// Slots whose notice was queued by this tick, and the emails that made.
    pub notices: usize,
    pub notice_emails: usize,
    /// Notices sent to people who confirmed after their slot's notice went out.
    pub late_notice_emails: usize,
    /// Trials that failed this time (logged; the next tick tries again).
    pub failures: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("the saved schedule can no longer be read")]
    Unreadable,
    #[error(transparent)]
    Round(#[from] RoundError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] mail::RenderError),
}

impl From<sqlx::Error> for ScheduleError {
    fn from(e: sqlx::Error) -> Self {
        ScheduleError::Store(e.into())
    }
}

/// Looks at every scheduled programme once, as of `now`. A failure in one trial is logged and
/// counted, and does not stop the others. Invitations name the sender derived from
/// `base_url`; [`tick_from`] names the configured one.
pub async fn tick(
    store: &Store,
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<TickReport, StoreError> {
    tick_from(store, base_url, &Organiser::default_for(base_url), now).await
}

/// [`tick`], with the emails' sender as the organiser of calendar invitations.
pub async fn tick_from(
    store: &Store,
    base_url: &url::Url,
    organiser: &Organiser,
    now: DateTime<Utc>,
) -> Result<TickReport, StoreError> {
    let mut report = TickReport::default();
    for trial in store.scheduled_trials().await? {
        report.trials += 1;
        if let Err(e) = tick_trial(store, base_url, organiser, &trial, now, &mut report).await {
            report.failures += 1;
            // Ids and causes only: no names or addresses in the log.
            tracing::error!(
                trial_id = trial.id,
                error = %crate::telemetry::error_chain(&e),
                "schedule: could not handle a trial"
            );
        }
    }
    Ok(report)
}

async fn tick_trial(
    store: &Store,
    base_url: &url::Url,
    organiser: &Organiser,
    trial: &Trial,
    now: DateTime<Utc>,
    report: &mut TickReport,
) -> Result<(), ScheduleError> {
    let schedule = trial
        .schedule
        .as_deref()
        .and_then(|s| Schedule::parse(s).ok())
        .ok_or(ScheduleError::Unreadable)?;
    let tz = trial.tz();
    // A trial saved before schedules had a start counts from its last change.
    let since = trial.schedule_since.unwrap_or(trial.updated_at);

    if let Some(slot) = schedule.latest_run(tz, since, now) {
        run_slot(store, base_url, organiser, trial, slot, now, report).await?;
    }

    if trial.notice_hours > 0 {
        if let Some(&next) = schedule.next_runs(tz, now.max(since), 1).first() {
            if next - now <= Duration::hours(trial.notice_hours)
                && !store.notice_sent(trial.id, next).await?
            {
                let emails = send_notice(store, base_url, trial, next, now).await?;
                if let Some(emails) = emails {
                    report.notices += 1;
                    report.notice_emails += emails;
                }
            }
        }
    }
    // People who confirmed after a notice went out, before its round starts, get it too.
    for notice in store.open_notices(trial.id, now).await? {
        report.late_notice_emails +=
            send_late_notices(store, base_url, trial, &notice, now).await?;
    }
    Ok(())
}

/// Creates the slot's round if it has none, and publishes it when the trial says so.
async fn run_slot(
    store: &Store,
    base_url: &url::Url,
    organiser: &Organiser,
    trial: &Trial,
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
    report: &mut TickReport,
) -> Result<(), ScheduleError> {
    let auto_publish = trial.auto_publish;
    let round_id = match store.round_for_slot(trial.id, slot).await? {
        // Another instance (or an earlier tick) made it. If it is still a draft although the
        // trial publishes automatically, that instance stopped half-way: finish its work.
        Some(round) if round.is_draft() && auto_publish => round.id,
        Some(_) => return Ok(()),
        None => {
            // With fewer than two people there is nobody to pair: no empty round is recorded,
            // and the slot stays open (as after downtime) in case people join before the next.
            if store.round_candidates(trial.id, now).await?.len() < 2
                || store.slot_discarded(trial.id, slot).await?
            {
                return Ok(());
            }
            let seed: u64 = rand::random();
            match rounds::propose(
                store,
                trial,
                crate::domain::RoundKind::Scheduled,
                Some(slot),
                seed,
                now,
            )
            .await?
            {
                Some(view) => {
                    report.rounds_created += 1;
                    view.round.id
                }
                // Lost the race for this slot to another instance.
                None => return Ok(()),
            }
        }
    };
    if auto_publish {
        let published =
            rounds::publish_from(store, trial, round_id, base_url, organiser, now).await?;
        if published.newly_published {
            report.rounds_published += 1;
        }
    }
    Ok(())
}

/// Queues the notice for `slot` to everyone who will be in that round, unless it has been
/// queued before. Returns the number of emails, or None when another tick got there first.
async fn send_notice(
    store: &Store,
    base_url: &url::Url,
    trial: &Trial,
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<usize>, ScheduleError> {
    let slot_label = local_label(trial.tz(), slot);
    let mut tx = store.pool().begin().await?;
    if !claim_notice(&mut tx, trial.id, slot, now).await? {
        return Ok(None);
    }
    let people = notice_recipients(&mut tx, trial.id, slot).await?;
    for person in &people {
        claim_notice_for(&mut tx, trial.id, slot, person.membership_id, now).await?;
        queue_notice(&mut tx, base_url, trial, slot, &slot_label, person, now).await?;
    }
    record_notice_recipients(&mut tx, trial.id, slot, people.len() as i64).await?;
    tx.commit().await?;
    Ok(Some(people.len()))
}

/// One person's notice for `slot`, inside the caller's transaction.
async fn queue_notice(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    base_url: &url::Url,
    trial: &Trial,
    slot: DateTime<Utc>,
    slot_label: &str,
    person: &NoticeRecipient,
    now: DateTime<Utc>,
) -> Result<(), ScheduleError> {
    // The skip link works until the round starts; after that it would skip the next one.
    let skip = crate::links::new_link_token(tx, LinkPurpose::Skip, person.membership_id, now, slot)
        .await?;
    let links = crate::links::issue_links(tx, person.membership_id, base_url, now).await?;
    let context = round_notice::Context {
        name: person.name.clone(),
        trial_name: trial.name.clone(),
        slot_label: slot_label.to_string(),
        skip_link: crate::links::link(base_url, &format!("/s/{skip}")),
        manage_link: links.manage.clone(),
        unsubscribe_link: links.unsubscribe.clone(),
    };
    let mut email =
        crate::links::with_list_unsubscribe(mail::render(&context, &person.email)?, &links);
    email.participant_id = Some(person.participant_id);
    outbox::enqueue(tx, &email, &mail::message_domain(base_url), now).await?;
    Ok(())
}

/// Queues the notice of `slot` to people who confirmed after it went out, each once (the row
/// that records them is written in the same transaction as their email).
async fn send_late_notices(
    store: &Store,
    base_url: &url::Url,
    trial: &Trial,
    notice: &OpenNotice,
    now: DateTime<Utc>,
) -> Result<usize, ScheduleError> {
    let slot = notice.slot;
    let slot_label = local_label(trial.tz(), slot);
    let mut tx = store.pool().begin().await?;
    let people = late_notice_recipients(&mut tx, trial.id, slot, notice.created_at).await?;
    let mut sent = 0;
    for person in &people {
        if claim_notice_for(&mut tx, trial.id, slot, person.membership_id, now).await? {
            queue_notice(&mut tx, base_url, trial, slot, &slot_label, person, now).await?;
            sent += 1;
        }
    }
    tx.commit().await?;
    Ok(sent)
}

/// The background loop inside `serve` (schedules, then feedback); [`Scheduler::stop`] ends it
/// after the tick in hand.
pub struct Scheduler {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Scheduler {
    pub fn start(
        store: Store,
        base_url: url::Url,
        organiser: Organiser,
        interval: StdDuration,
        mut retention: crate::app::retention::Retention,
    ) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut planned = std::time::Instant::now();
            loop {
                retention.tick(&store, Utc::now()).await;
                let started = std::time::Instant::now();
                metrics::gauge!("scheduler_lag_seconds")
                    .set(started.saturating_duration_since(planned).as_secs_f64());
                let ticked = tick_from(&store, &base_url, &organiser, Utc::now()).await;
                metrics::counter!(
                    "scheduler_ticks_total",
                    "result" => if ticked.is_ok() { "ok" } else { "error" }
                )
                .increment(1);
                match ticked {
                    Ok(report)
                        if report.rounds_created
                            + report.notices
                            + report.rounds_published
                            + report.late_notice_emails
                            > 0 =>
                    {
                        tracing::info!(
                            rounds_created = report.rounds_created,
                            rounds_published = report.rounds_published,
                            notices = report.notices,
                            notice_emails = report.notice_emails,
                            late_notice_emails = report.late_notice_emails,
                            "schedule: tick"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "schedule: cannot read the scheduled trials")
                    }
                }
                // Feedback follows rounds on the same clock: emails N days after a round, the
                // one reminder, and the "still in?" rule.
                match crate::app::feedback::tick(&store, &base_url, Utc::now()).await {
                    Ok(r)
                        if r.feedback_emails + r.asked_again + r.still_in_emails + r.paused > 0 =>
                    {
                        tracing::info!(
                            feedback_emails = r.feedback_emails,
                            asked_again = r.asked_again,
                            still_in_emails = r.still_in_emails,
                            paused = r.paused,
                            "feedback: tick"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(
                        error = %crate::telemetry::error_chain(&e),
                        "feedback: tick failed"
                    ),
                }
                metrics::histogram!("scheduler_tick_duration_seconds")
                    .record(started.elapsed().as_secs_f64());
                planned = std::time::Instant::now() + interval;
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stopped.changed() => break,
                }
            }
        });
        Self { stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
