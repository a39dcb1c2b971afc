//! Feedback after a round: "did you meet?" by one click from an email, an optional rating and
//! takeaway, one reminder for "not yet", and the "still in?" question for people who have
//! stopped answering. Everything that sends email happens in [`tick`], which the scheduler
//! calls with the current time; each email is written in the same transaction as the row
//! that says it was sent, so it goes once even with several instances.
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sqlx::{Any, Transaction};

use crate::app::participants::ParticipantError;
use crate::domain::{FieldError, MembershipState, ShortText};
use crate::links::link;
use crate::mail::{self, feedback as feedback_mail, feedback_again, still_in, RenderError};
use crate::store::feedback::{self as db, FeedbackTarget, StillInTarget};
use crate::store::rounds::{GroupMember, Round};
use crate::store::signup::LinkPurpose;
use crate::store::trials::Trial;
use crate::store::{outbox, Store, StoreError};
use crate::tokens;

/// "Not yet" is asked once more, this many days after the answer.
pub const REASK_AFTER_DAYS: i64 = 3;
/// A feedback email counts as unanswered once it is this many days old.
pub const ANSWER_GRACE_DAYS: i64 = 3;
/// Unanswered feedback emails in a row before "still in?" is asked.
pub const SILENT_ROUNDS: usize = 3;
/// Days to answer "still in?" before the member is paused.
pub const STILL_IN_WAIT_DAYS: i64 = 7;
/// Rounds whose feedback moment passed longer ago than this are not asked about any more
/// (after a long outage, or when feedback is switched on over an old history).
pub const CATCH_UP_DAYS: i64 = 14;
pub const MAX_TAKEAWAY_CHARS: usize = 1000;
/// The library page behind the after-action question in feedback emails.
pub const REFLECTION_PATH: &str = "/techniques/after-action-review";

/// An answer to "did you meet?" (one type, in `domain`, for the feedback pages and the
/// dashboard).
pub use crate::domain::Outcome;

#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    /// Expired, erased, of another kind, or not a token at all.
    #[error("this link no longer works")]
    Gone,
    #[error("{}", .0.first().map(|e| e.message.as_str()).unwrap_or("invalid input"))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] RenderError),
}

impl From<sqlx::Error> for FeedbackError {
    fn from(e: sqlx::Error) -> Self {
        FeedbackError::Store(e.into())
    }
}

impl From<ParticipantError> for FeedbackError {
    fn from(e: ParticipantError) -> Self {
        match e {
            ParticipantError::Invalid(errors) => FeedbackError::Invalid(errors),
            ParticipantError::Render(e) => FeedbackError::Render(e),
            ParticipantError::Store(e) => FeedbackError::Store(e),
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> FeedbackError {
    FeedbackError::Invalid(vec![FieldError::new(field, message)])
}

/// The person and group behind a feedback link, or `Gone`.
pub async fn target(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<FeedbackTarget, FeedbackError> {
    if !tokens::looks_like_token(token) {
        return Err(FeedbackError::Gone);
    }
    store
        .feedback_target(&tokens::hash_token(token), now)
        .await?
        .ok_or(FeedbackError::Gone)
}

/// Records an answer from a feedback link. Answering again replaces the answer.
pub async fn answer(
    store: &Store,
    token: &str,
    answer: &str,
    now: DateTime<Utc>,
) -> Result<(FeedbackTarget, Outcome), FeedbackError> {
    let t = target(store, token, now).await?;
    let outcome = Outcome::parse(answer)
        .filter(|o| Outcome::offered(t.group_size).contains(o))
        .ok_or_else(|| invalid("answer", "choose one of the answers below"))?;
    store
        .upsert_feedback_answer(t.group_id, t.membership_id, outcome.as_str(), now)
        .await?;
    Ok((t, outcome))
}

/// One pair of a group of three, as "who met?" offers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairChoice {
    /// The form value: the two people's public ids.
    pub value: String,
    /// "You and Bilal", or "Bilal and Chen".
    pub label: String,
    /// Ticked in the answer saved so far.
    pub met: bool,
}

fn pair_value(a: &str, b: &str) -> String {
    if a <= b {
        format!("{a}.{b}")
    } else {
        format!("{b}.{a}")
    }
}

/// The question after "some of us met": every pair of the group, with the ones this person
/// said met so far ticked. None when their answer is not "some of us met".
pub async fn who_met_question(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<PairChoice>>, FeedbackError> {
    let t = target(store, token, now).await?;
    if t.outcome != Some(Outcome::SomeMet) {
        return Ok(None);
    }
    let people = store.group_people(t.group_id).await?;
    let saved = store.met_pairs_of(t.group_id, t.membership_id).await?;
    let me = t.membership_id;
    let mut choices = Vec::new();
    for (i, a) in people.iter().enumerate() {
        for b in &people[i + 1..] {
            let label = if a.membership_id == me {
                format!("You and {}", b.name)
            } else if b.membership_id == me {
                format!("You and {}", a.name)
            } else {
                format!("{} and {}", a.name, b.name)
            };
            let (lo, hi) = (
                a.membership_id.min(b.membership_id),
                a.membership_id.max(b.membership_id),
            );
            choices.push(PairChoice {
                value: pair_value(&a.public_id, &b.public_id),
                label,
                met: saved
                    .iter()
                    .any(|p| p.first_membership_id == lo && p.second_membership_id == hi),
            });
        }
    }
    // The pairs that include the person answering come first: they know those best.
    choices.sort_by_key(|c| !c.label.starts_with("You and"));
    Ok(Some(choices))
}

/// Records which pairs of a group of three met, after "some of us met". At least one pair,
/// and only pairs of this group; replaces what this person said before.
pub async fn record_who_met(
    store: &Store,
    token: &str,
    chosen: &[String],
    now: DateTime<Utc>,
) -> Result<(), FeedbackError> {
    let t = target(store, token, now).await?;
    if t.outcome != Some(Outcome::SomeMet) {
        return Err(invalid("answer", "first tell us that some of you met"));
    }
    let people = store.group_people(t.group_id).await?;
    let mut pairs = Vec::new();
    for value in chosen {
        let found = people.iter().enumerate().find_map(|(i, a)| {
            people[i + 1..]
                .iter()
                .find(|b| pair_value(&a.public_id, &b.public_id) == *value)
                .map(|b| (a.membership_id, b.membership_id))
        });
        match found {
            Some(pair) if !pairs.contains(&pair) => pairs.push(pair),
            Some(_) => {}
            None => return Err(invalid("pairs", "choose pairs from the list")),
        }
    }
    if pairs.is_empty() {
        return Err(invalid(
            "pairs",
            "tick the pairs who met; if nobody met, go back and answer “Not yet” or “We couldn't meet”",
        ));
    }
    store
        .set_met_pairs(t.group_id, t.membership_id, &pairs)
        .await?;
    Ok(())
}

/// The optional details as typed into the form.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct DetailsInput {
    #[serde(default)]
    pub rating: String,
    #[serde(default)]
    pub takeaway: String,
    #[serde(default)]
    pub share: Option<String>,
}

impl DetailsInput {
    pub fn from_target(t: &FeedbackTarget) -> Self {
        Self {
            rating: t.rating.map(|r| r.to_string()).unwrap_or_default(),
            takeaway: t.takeaway.clone().unwrap_or_default(),
            share: (t.share_consent == Some(true)).then(|| "yes".to_string()),
        }
    }

    pub fn shares(&self) -> bool {
        self.share.is_some()
    }
}

/// Checked details: a rating from 1 to 5 or none, a bounded takeaway, and consent to share
/// it (which means nothing without a takeaway).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Details {
    pub rating: Option<i64>,
    pub takeaway: String,
    pub share: bool,
}

pub fn check_details(input: &DetailsInput) -> Result<Details, Vec<FieldError>> {
    let mut errors = Vec::new();
    let rating = match input.rating.trim() {
        "" => None,
        r => match r.parse::<i64>() {
            Ok(n @ 1..=5) => Some(n),
            _ => {
                errors.push(FieldError::new(
                    "rating",
                    "choose a rating from 1 to 5, or leave it empty",
                ));
                None
            }
        },
    };
    let takeaway = match ShortText::parse(&input.takeaway, MAX_TAKEAWAY_CHARS, true) {
        Ok(t) => t.into_string(),
        Err(e) => {
            errors.push(FieldError::new("takeaway", e));
            String::new()
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Details {
        share: input.shares() && !takeaway.is_empty(),
        rating,
        takeaway,
    })
}

/// Saves the optional details; the question must have been answered first.
pub async fn save_details(
    store: &Store,
    token: &str,
    input: &DetailsInput,
    now: DateTime<Utc>,
) -> Result<(), FeedbackError> {
    let t = target(store, token, now).await?;
    // "How worthwhile was it?" is about a conversation; after "not yet" or "we couldn't meet"
    // there was none, and the page does not ask.
    if let Some(outcome) = t.outcome {
        if !outcome.is_meeting() {
            return Err(invalid(
                "answer",
                "you told us you have not met; change that answer first",
            ));
        }
    }
    let d = check_details(input).map_err(FeedbackError::Invalid)?;
    let saved = store
        .save_feedback_details(
            t.group_id,
            t.membership_id,
            d.rating,
            &d.takeaway,
            d.share,
            now,
        )
        .await?;
    if !saved {
        return Err(invalid("answer", "first tell us whether you met"));
    }
    Ok(())
}

/// An answer to "still in?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StillIn {
    Stay,
    Pause,
    Leave,
}

impl StillIn {
    pub const ALL: [StillIn; 3] = [StillIn::Stay, StillIn::Pause, StillIn::Leave];

    pub fn parse(s: &str) -> Option<Self> {
        StillIn::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StillIn::Stay => "stay",
            StillIn::Pause => "pause",
            StillIn::Leave => "leave",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StillIn::Stay => "Yes, keep pairing me",
            StillIn::Pause => "Pause me for now",
            StillIn::Leave => "Take me out of the trial",
        }
    }
}

pub async fn still_in_target(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<StillInTarget, FeedbackError> {
    if !tokens::looks_like_token(token) {
        return Err(FeedbackError::Gone);
    }
    store
        .still_in_target(&tokens::hash_token(token), now)
        .await?
        .ok_or(FeedbackError::Gone)
}

/// Acts on an answer to "still in?". "Stay" also undoes a pause for silence. The answer and
/// the change it makes are saved in one transaction.
pub async fn answer_still_in(
    store: &Store,
    token: &str,
    choice: &str,
    now: DateTime<Utc>,
) -> Result<(StillInTarget, StillIn), FeedbackError> {
    let t = still_in_target(store, token, now).await?;
    let choice =
        StillIn::parse(choice).ok_or_else(|| invalid("choice", "choose one of the answers"))?;
    let state = match choice {
        StillIn::Stay => MembershipState::Active,
        StillIn::Pause => MembershipState::Paused,
        StillIn::Leave => MembershipState::Left,
    };
    let mut tx = store.pool().begin().await?;
    if !db::record_still_in_choice(
        &mut tx,
        t.request_id,
        t.membership_id,
        choice.as_str(),
        state.as_str(),
        now,
    )
    .await?
    {
        // Dropping the transaction keeps the request as it was.
        return Err(invalid(
            "choice",
            "you have left this trial, so there is nothing to keep or pause; to take part again, use \"Join again\" on your page (the link is in every email from us)",
        ));
    }
    tx.commit().await?;
    Ok((t, choice))
}

/// What one [`tick`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedbackReport {
    pub feedback_emails: usize,
    pub asked_again: usize,
    pub still_in_emails: usize,
    pub paused: usize,
    /// Midway nudges queued (one per person).
    pub nudges: usize,
}

/// Sends what is due at `now`: feedback emails, the one reminder for "not yet", "still in?"
/// emails, and pauses for people who did not answer that.
pub async fn tick(
    store: &Store,
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<FeedbackReport, FeedbackError> {
    Ok(FeedbackReport {
        paused: pause_silent(store, now).await?,
        feedback_emails: send_feedback_emails(store, base_url, now).await?,
        asked_again: ask_again(store, base_url, now).await?,
        still_in_emails: ask_still_in(store, base_url, now).await?,
        nudges: send_nudges(store, base_url, now).await?,
    })
}

/// Nudges that fell due longer ago than this are not sent (after an outage, or when the nudge
/// is switched on over old rounds): "halfway through" would no longer be true.
pub const NUDGE_CATCH_UP_HOURS: i64 = 48;

/// The midway nudge: for trials that have it on, one short email to each member of a group
/// that has not said it met, once the nudge time after publication has come. Never to someone
/// paused, gone or unsubscribed, or who has answered; each email is written in the same
/// transaction as the row that records it, so it goes once.
async fn send_nudges(
    store: &Store,
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<usize, FeedbackError> {
    let mut sent = 0;
    let mut rounds = HashMap::new();
    for t in store.nudge_trials().await? {
        let Some(hours) = t.nudge.after_hours(t.feedback_delay_days) else {
            continue;
        };
        let before = now - Duration::hours(hours);
        let after = before - Duration::hours(NUDGE_CATCH_UP_HOURS);
        for due in store.due_nudges(t.trial_id, after, before).await? {
            let Some(info) = round_info(store, &mut rounds, due.round_id).await? else {
                continue;
            };
            let mut tx = store.pool().begin().await?;
            if !crate::store::round_mail::claim_nudge(&mut tx, due.group_id, due.membership_id, now)
                .await?
            {
                continue;
            }
            if queue_nudge(
                &mut tx,
                store,
                info,
                due.group_id,
                due.membership_id,
                base_url,
                now,
            )
            .await?
            {
                tx.commit().await?;
                sent += 1;
            }
        }
    }
    Ok(sent)
}

async fn queue_nudge(
    tx: &mut Transaction<'_, Any>,
    store: &Store,
    info: &RoundInfo,
    group_id: i64,
    membership_id: i64,
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<bool, FeedbackError> {
    let group: Vec<&GroupMember> = info
        .members
        .iter()
        .filter(|m| m.group_id == group_id)
        .collect();
    let Some(me) = group.iter().find(|m| m.membership_id == membership_id) else {
        return Ok(false);
    };
    let Some(address) = me.email.clone() else {
        return Ok(false);
    };
    let settings = store.round_settings(info.trial.id).await?;
    let how = crate::app::rounds::how_members_meet(&group, settings.same_site_only);
    let first_mover = store
        .first_movers(info.round.id)
        .await?
        .get(&group_id)
        .copied();
    let first_mover_name = first_mover
        .and_then(|id| group.iter().find(|m| m.membership_id == id))
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let feedback_link =
        crate::links::issue_feedback_link(tx, membership_id, group_id, base_url, now).await?;
    let links = crate::links::issue_links(tx, membership_id, base_url, now).await?;
    let context = crate::mail::pairing::nudge::Context {
        name: me.name.clone(),
        trial_name: info.trial.name.clone(),
        round_number: info.round.number,
        partners: group
            .iter()
            .filter(|m| m.membership_id != membership_id)
            .map(|m| crate::mail::pairing::partner(m))
            .collect(),
        how_to_meet: if how.can_meet() {
            crate::app::rounds::describe_how(&how, group.len())
        } else {
            String::new()
        },
        first_mover: first_mover_name,
        first_mover_is_me: first_mover == Some(membership_id),
        feedback_link,
        manage_link: links.manage.clone(),
        unsubscribe_link: links.unsubscribe.clone(),
    };
    let mut email = crate::links::with_list_unsubscribe(mail::render(&context, &address)?, &links);
    email.participant_id = Some(me.participant_id);
    email.round_id = Some(info.round.id);
    outbox::enqueue(tx, &email, &mail::message_domain(base_url), now).await?;
    Ok(true)
}

/// A round with its trial and groups, read once per tick.
struct RoundInfo {
    trial: Trial,
    round: Round,
    members: Vec<GroupMember>,
}

async fn round_info<'a>(
    store: &Store,
    cache: &'a mut HashMap<i64, Option<RoundInfo>>,
    round_id: i64,
) -> Result<Option<&'a RoundInfo>, StoreError> {
    if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(round_id) {
        let mut info = None;
        if let Some(round) = store.find_round(round_id).await? {
            if let Some(trial) = store.trial_by_id(round.trial_id).await? {
                info = Some(RoundInfo {
                    members: store.round_members(round_id).await?,
                    trial,
                    round,
                });
            }
        }
        slot.insert(info);
    }
    Ok(cache.get(&round_id).and_then(|i| i.as_ref()))
}

fn names(list: &[&str]) -> String {
    match list {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Writes one feedback email (or its reminder) in `tx`.
async fn queue_ask(
    tx: &mut Transaction<'_, Any>,
    info: &RoundInfo,
    group_id: i64,
    membership_id: i64,
    again: bool,
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<bool, FeedbackError> {
    let group: Vec<&GroupMember> = info
        .members
        .iter()
        .filter(|m| m.group_id == group_id)
        .collect();
    let Some(me) = group.iter().find(|m| m.membership_id == membership_id) else {
        return Ok(false);
    };
    let Some(address) = me.email.clone() else {
        return Ok(false);
    };
    let partners: Vec<&str> = group
        .iter()
        .filter(|m| m.membership_id != membership_id)
        .map(|m| m.name.as_str())
        .collect();
    let feedback_link =
        crate::links::issue_feedback_link(tx, membership_id, group_id, base_url, now).await?;
    let links = crate::links::issue_links(tx, membership_id, base_url, now).await?;
    let ask = feedback_mail::Ask {
        name: me.name.clone(),
        trial_name: info.trial.name.clone(),
        round_number: info.round.number,
        partner_names: names(&partners),
        answers: Outcome::offered(group.len() as i64)
            .into_iter()
            .map(|o| feedback_mail::AnswerLink {
                label: o.label(),
                url: format!("{feedback_link}?answer={}", o.as_str()),
            })
            .collect(),
        reflection_link: link(base_url, REFLECTION_PATH),
        manage_link: links.manage.clone(),
        unsubscribe_link: links.unsubscribe.clone(),
    };
    let rendered = if again {
        mail::render(&feedback_again::Context { ask }, &address)?
    } else {
        mail::render(&feedback_mail::Context { ask }, &address)?
    };
    let mut email = crate::links::with_list_unsubscribe(rendered, &links);
    email.participant_id = Some(me.participant_id);
    email.round_id = Some(info.round.id);
    outbox::enqueue(tx, &email, &mail::message_domain(base_url), now).await?;
    Ok(true)
}

async fn send_feedback_emails(
    store: &Store,
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<usize, FeedbackError> {
    let mut sent = 0;
    let mut rounds = HashMap::new();
    for (trial_id, delay_days) in store.feedback_delays().await? {
        let before = now - Duration::days(delay_days);
        let after = before - Duration::days(CATCH_UP_DAYS);
        for due in store.due_feedback(trial_id, after, before).await? {
            let Some(info) = round_info(store, &mut rounds, due.round_id).await? else {
                continue;
            };
            let mut tx = store.pool().begin().await?;
            if !db::claim_feedback_request(&mut tx, due.group_id, due.membership_id, now).await? {
                continue;
            }
            if queue_ask(
                &mut tx,
                info,
                due.group_id,
                due.membership_id,
                false,
                base_url,
                now,
            )
            .await?
            {
                tx.commit().await?;
                sent += 1;
            }
        }
    }
    Ok(sent)
}

async fn ask_again(
    store: &Store,
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<usize, FeedbackError> {
    let mut sent = 0;
    let mut rounds = HashMap::new();
    // Like feedback emails, reminders that fell due long ago (an outage) are not sent: "a few
    // days ago you told us" would no longer be true.
    let due_at = now - Duration::days(REASK_AFTER_DAYS);
    for due in store
        .due_reasks(due_at - Duration::days(CATCH_UP_DAYS), due_at)
        .await?
    {
        let Some(info) = round_info(store, &mut rounds, due.round_id).await? else {
            continue;
        };
        let mut tx = store.pool().begin().await?;
        if !db::claim_reask(&mut tx, due.feedback_id, now).await? {
            continue;
        }
        if queue_ask(
            &mut tx,
            info,
            due.group_id,
            due.membership_id,
            true,
            base_url,
            now,
        )
        .await?
        {
            tx.commit().await?;
            sent += 1;
        }
    }
    Ok(sent)
}

/// A feedback email as the ghost rule sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    pub group_id: i64,
    pub sent_at: DateTime<Utc>,
    pub answered: bool,
}

/// The ghost rule, given one member's feedback emails since their last "still in?" request:
/// when the latest [`SILENT_ROUNDS`] of them went unanswered (each at least
/// [`ANSWER_GRACE_DAYS`] old, and none answered after them), returns the newest of those
/// groups, which keys the "still in?" request.
pub fn silent_run(sent: &[Sent], now: DateTime<Utc>) -> Option<i64> {
    let mut newest_first = sent.to_vec();
    newest_first.sort_by_key(|s| std::cmp::Reverse((s.sent_at, s.group_id)));
    let old_enough = now - Duration::days(ANSWER_GRACE_DAYS);
    let mut run = Vec::new();
    for s in newest_first {
        if s.answered {
            break;
        }
        if s.sent_at > old_enough {
            continue;
        }
        run.push(s.group_id);
        if run.len() == SILENT_ROUNDS {
            return run.first().copied();
        }
    }
    None
}

async fn ask_still_in(
    store: &Store,
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<usize, FeedbackError> {
    let rows = store.requests_since_still_in(SILENT_ROUNDS as i64).await?;
    let mut by_member: Vec<(i64, Vec<Sent>)> = Vec::new();
    for r in rows {
        let sent = Sent {
            group_id: r.group_id,
            sent_at: r.sent_at,
            answered: r.answered,
        };
        match by_member.last_mut() {
            Some((m, list)) if *m == r.membership_id => list.push(sent),
            _ => by_member.push((r.membership_id, vec![sent])),
        }
    }
    let domain = mail::message_domain(base_url);
    let mut asked = 0;
    for (membership_id, sent) in by_member {
        let Some(trigger) = silent_run(&sent, now) else {
            continue;
        };
        let Some(member) = store.find_member_by_id(membership_id).await? else {
            continue;
        };
        let (Some(address), Some(trial)) = (
            member.email.clone(),
            store.trial_by_id(member.trial_id).await?,
        ) else {
            continue;
        };
        let mut tx = store.pool().begin().await?;
        if !db::claim_still_in(&mut tx, membership_id, trigger, now).await? {
            continue;
        }
        let token = tokens::new_link_token(now);
        db::insert_group_token(
            &mut tx,
            LinkPurpose::StillIn,
            membership_id,
            trigger,
            &tokens::hash_token(&token),
            now,
            now + Duration::days(crate::links::FEEDBACK_LINK_DAYS),
        )
        .await?;
        let links = crate::links::issue_links(&mut tx, membership_id, base_url, now).await?;
        let choice = |c: StillIn| {
            link(
                base_url,
                &format!("/still-in/{token}?choice={}", c.as_str()),
            )
        };
        let context = still_in::Context {
            name: member.name.clone(),
            trial_name: trial.name.clone(),
            silent_rounds: SILENT_ROUNDS,
            wait_days: STILL_IN_WAIT_DAYS,
            stay_link: choice(StillIn::Stay),
            pause_link: choice(StillIn::Pause),
            leave_link: choice(StillIn::Leave),
            manage_link: links.manage.clone(),
        };
        let mut email =
            crate::links::with_list_unsubscribe(mail::render(&context, &address)?, &links);
        email.participant_id = Some(member.participant_id);
        outbox::enqueue(&mut tx, &email, &domain, now).await?;
        tx.commit().await?;
        asked += 1;
    }
    Ok(asked)
}

async fn pause_silent(store: &Store, now: DateTime<Utc>) -> Result<usize, FeedbackError> {
    let mut paused = 0;
    for (request_id, membership_id) in store
        .unanswered_still_in(now - Duration::days(STILL_IN_WAIT_DAYS))
        .await?
    {
        let mut tx = store.pool().begin().await?;
        if db::pause_for_silence(&mut tx, request_id, membership_id, now).await? {
            paused += 1;
        }
        tx.commit().await?;
    }
    Ok(paused)
}

/// The names of the others in the group the feedback is about.
pub async fn partner_names(
    store: &Store,
    target: &crate::store::feedback::FeedbackTarget,
) -> Result<Vec<String>, StoreError> {
    store
        .group_partner_names(target.group_id, target.membership_id)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::days(n)
    }

    fn sent(group_id: i64, at: i64, answered: bool) -> Sent {
        Sent {
            group_id,
            sent_at: day(at),
            answered,
        }
    }

    #[test]
    fn details_are_checked_field_by_field() {
        let ok = check_details(&DetailsInput {
            rating: " 4 ".into(),
            takeaway: "  Ask more questions.\nListen.  ".into(),
            share: Some("yes".into()),
        })
        .unwrap();
        assert_eq!(ok.rating, Some(4));
        assert_eq!(ok.takeaway, "Ask more questions.\nListen.");
        assert!(ok.share);
        let empty = check_details(&DetailsInput::default()).unwrap();
        assert_eq!(empty.rating, None);
        assert!(!empty.share);
        let no_note = check_details(&DetailsInput {
            share: Some("yes".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(!no_note.share, "consent to share nothing is not kept");
        for bad in ["0", "6", "five", "4.5", "-1"] {
            let errors = check_details(&DetailsInput {
                rating: bad.into(),
                ..Default::default()
            })
            .unwrap_err();
            assert_eq!(errors[0].field, "rating", "{bad}");
        }
        let long = check_details(&DetailsInput {
            takeaway: "x".repeat(MAX_TAKEAWAY_CHARS + 1),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(long[0].field, "takeaway");
    }

    #[test]
    fn the_feedback_email_offers_each_answer_and_the_after_action_question() {
        let ask = feedback_mail::Ask {
            name: "Ada <Admin>".into(),
            trial_name: "Lunch".into(),
            round_number: 4,
            partner_names: names(&["Grace", "Alan"]),
            answers: Outcome::offered(3)
                .into_iter()
                .map(|o| feedback_mail::AnswerLink {
                    label: o.label(),
                    url: format!("https://x.example/f/t?answer={}", o.as_str()),
                })
                .collect(),
            reflection_link: format!("https://x.example{REFLECTION_PATH}"),
            manage_link: "https://x.example/m/m".into(),
            unsubscribe_link: "https://x.example/u/u".into(),
        };
        let email = mail::render(&feedback_mail::Context { ask }, "ada@example.org").unwrap();
        assert_eq!(email.subject, "Lunch: did you meet Grace and Alan?");
        for o in Outcome::ALL {
            assert!(email.body_text.contains(&format!("?answer={}", o.as_str())));
            assert!(email.body_html.contains(&format!("?answer={}", o.as_str())));
        }
        assert!(email
            .body_text
            .contains("what would you do the same or differently"));
        assert!(email.body_html.contains("/techniques/after-action-review"));
        assert!(
            email.body_html.contains("Ada &#60;Admin&#62;")
                || email.body_html.contains("Ada &lt;Admin&gt;")
        );
    }

    #[test]
    fn three_unanswered_emails_in_a_row_make_a_silent_run() {
        let now = day(30);
        let three = [sent(1, 0, false), sent(2, 7, false), sent(3, 14, false)];
        assert_eq!(silent_run(&three, now), Some(3));
        assert_eq!(silent_run(&three[..2], now), None, "two are not enough");
        let answered_last = [sent(1, 0, false), sent(2, 7, false), sent(3, 14, true)];
        assert_eq!(silent_run(&answered_last, now), None);
        let answered_first = [
            sent(1, 0, true),
            sent(2, 7, false),
            sent(3, 14, false),
            sent(4, 21, false),
        ];
        assert_eq!(silent_run(&answered_first, now), Some(4));
    }

    #[test]
    fn a_fresh_email_is_not_yet_silence_but_a_fresh_answer_ends_the_run() {
        let three = [sent(1, 0, false), sent(2, 7, false), sent(3, 14, false)];
        assert_eq!(silent_run(&three, day(15)), None, "the third is a day old");
        assert_eq!(silent_run(&three, day(14 + ANSWER_GRACE_DAYS)), Some(3));
        let mut four = three.to_vec();
        four.push(sent(4, 29, true));
        assert_eq!(silent_run(&four, day(30)), None);
        four[3].answered = false;
        assert_eq!(
            silent_run(&four, day(30)),
            Some(3),
            "the fresh one is skipped"
        );
    }
}
