//! Live rounds at events: people sign up on their phones from a poster's QR code, are checked
//! in by the organiser (or tap "I'm here"), and quick rounds pair only the people in the room,
//! published at once with a table for each group and shown on a projector.
use chrono::{DateTime, Duration, Utc};
use sqlx::{Any, Transaction};

use crate::app::rounds::{self, RoundError, RoundView, UnplacedView};
use crate::domain::{MembershipState, ParticipantDetails};
use crate::mail::{self, event_summary};
use crate::store::events::{
    event_meetings, insert_event_sign_up, insert_quick_round, record_round_request, record_summary,
    EventPerson,
};
use crate::store::participants::Member;
use crate::store::signup::LinkPurpose;
use crate::store::time::to_db;
use crate::store::trials::Trial;
use crate::store::{outbox, Store, StoreError};

/// How long a person's event page works: the event and a little after it.
pub const EVENT_LINK_DAYS: i64 = 14;
/// Minutes per quick round when the organiser has not set them.
pub const DEFAULT_ROUND_MINUTES: i64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("this trial is not an event; make it one in its settings first")]
    NotAnEvent,
    #[error("there is no such person in this event, or they have left")]
    NoSuchPerson,
    #[error("{0}")]
    NotNow(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Round(#[from] RoundError),
    #[error(transparent)]
    Render(#[from] mail::RenderError),
}

/// A new event sign-up: who it was recorded as, and the token of their event page.
#[derive(Clone, Debug)]
pub struct EventSignUp {
    pub membership_id: i64,
    pub participant_id: i64,
    pub page_token: String,
}

/// Inside a new event sign-up's transaction: records the person as typed on their phone,
/// pairable at once, and issues the token of their event page. A known address never opens
/// its owner's identity here: see `insert_event_sign_up`.
pub async fn start_event_sign_up(
    tx: &mut Transaction<'_, Any>,
    trial_id: i64,
    details: &ParticipantDetails,
    now: DateTime<Utc>,
) -> Result<EventSignUp, StoreError> {
    let recorded = insert_event_sign_up(tx, trial_id, details, now).await?;
    let page_token = crate::links::new_link_token(
        tx,
        LinkPurpose::Event,
        recorded.membership_id,
        now,
        now + Duration::days(EVENT_LINK_DAYS),
    )
    .await?;
    Ok(EventSignUp {
        membership_id: recorded.membership_id,
        participant_id: recorded.participant_id,
        page_token,
    })
}

fn event(trial: &Trial) -> Result<(), EventError> {
    if trial.is_event() {
        Ok(())
    } else {
        Err(EventError::NotAnEvent)
    }
}

/// The organiser's tick: this person is in the room.
pub async fn check_in(
    store: &Store,
    trial: &Trial,
    public_id: &str,
    now: DateTime<Utc>,
) -> Result<(), EventError> {
    event(trial)?;
    if store.check_in(trial.id, public_id, now).await? {
        Ok(())
    } else {
        Err(EventError::NoSuchPerson)
    }
}

/// This person has gone home: no later quick round pairs them (an organiser's tick undoes it).
pub async fn mark_left(
    store: &Store,
    trial: &Trial,
    public_id: &str,
    now: DateTime<Utc>,
) -> Result<(), EventError> {
    event(trial)?;
    if store.mark_left(trial.id, public_id, now).await? {
        Ok(())
    } else {
        Err(EventError::NoSuchPerson)
    }
}

/// The check-in list: people matching the search, and the counts for the whole event.
#[derive(Debug, Clone)]
pub struct CheckInList {
    pub people: Vec<EventPerson>,
    pub total: usize,
    pub present: usize,
    pub left: usize,
}

pub async fn check_in_list(
    store: &Store,
    trial: &Trial,
    search: Option<&str>,
) -> Result<CheckInList, EventError> {
    let everyone = store.event_people(trial.id, None).await?;
    let present = everyone.iter().filter(|p| p.is_checked_in()).count();
    let left = everyone.iter().filter(|p| p.has_left()).count();
    let total = everyone.len();
    let people = match search.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => store.event_people(trial.id, Some(s)).await?,
        None => everyone,
    };
    Ok(CheckInList {
        people,
        total,
        present,
        left,
    })
}

/// A quick round as run: its groups, and anyone present who could not be placed.
#[derive(Debug, Clone)]
pub struct QuickRound {
    pub view: RoundView,
    pub unplaced: Vec<UnplacedView>,
    /// Pairing emails queued with the round (none unless asked for).
    pub emails_queued: usize,
    /// This press of the form had started the round already; nothing new was done.
    pub already_started: bool,
}

pub fn table_label(position: usize) -> String {
    format!("Table {position}")
}

/// Pairs the people who are checked in and still here, with the engine (no repeat while one
/// can be avoided; a stable room of N people gets N-1 rounds without one), and publishes the
/// round at once with a table for each group. With `email_pairs`, the same transaction queues
/// a pairing email with the table to everyone whose address is confirmed.
pub async fn run_quick_round(
    store: &Store,
    trial: &Trial,
    seed: u64,
    email_pairs: Option<&url::Url>,
    now: DateTime<Utc>,
) -> Result<QuickRound, EventError> {
    run_quick_round_once(store, trial, None, seed, email_pairs, now).await
}

/// A form key is random (see [`new_request_key`]); anything else is ignored rather than trusted.
fn usable_key(key: &str) -> Option<&str> {
    (key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit())).then_some(key)
}

/// A fresh key for the "run a quick round" form.
pub fn new_request_key() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// [`run_quick_round`] for one press of a form carrying `request_key`: the first press starts
/// (and emails) a round, and any other press with the same key, before or after it commits,
/// answers with that round and `already_started`, so a double click runs one round.
pub async fn run_quick_round_once(
    store: &Store,
    trial: &Trial,
    request_key: Option<&str>,
    seed: u64,
    email_pairs: Option<&url::Url>,
    now: DateTime<Utc>,
) -> Result<QuickRound, EventError> {
    event(trial)?;
    let request_key = request_key.and_then(usable_key);
    // The groups are worked out from the rounds before `number`, which is read first. If
    // another round (a second press, a second organiser) takes that number meanwhile, the
    // insert gives way and the groups are worked out again with that round in the history;
    // recording them anyway could repeat its pairs.
    for _ in 0..5 {
        // The number is read before the key: a press that commits in between either took this
        // number (so the insert below gives way) or is seen by the key look-up.
        let number = store.next_round_number(trial.id).await?;
        if let Some(key) = request_key {
            if let Some(round) = store.round_for_request(trial.id, key).await? {
                let view = rounds::view(store, trial, round, now).await?;
                return Ok(QuickRound {
                    view,
                    unplaced: Vec::new(),
                    emails_queued: 0,
                    already_started: true,
                });
            }
        }
        let candidates = store.event_candidates(trial.id).await?;
        if candidates.len() < 2 {
            return Err(EventError::NotNow(
                "check in at least two people before running a round".into(),
            ));
        }
        let inputs = rounds::engine_inputs_for(store, trial, candidates).await?;
        let (mut groups, unplaced) = rounds::run_engine(inputs, seed).await;
        if groups.is_empty() {
            // Publishing a round of nobody would tell the room a round had started.
            return Err(EventError::NotNow(
                "nobody who is checked in can be paired with anyone else who is here; check in more people".into(),
            ));
        }
        for (i, group) in groups.iter_mut().enumerate() {
            group.table_label = Some(table_label(i + 1));
        }
        let mut tx = store.pool().begin().await.map_err(StoreError::from)?;
        let Some(round) = insert_quick_round(&mut tx, trial.id, number, seed, &groups, now).await?
        else {
            continue;
        };
        if let Some(key) = request_key {
            if !record_round_request(&mut tx, trial.id, key, round.id, now).await? {
                // Another press of this form got there first; dropping `tx` undoes this one.
                continue;
            }
        }
        let mut emails_queued = 0;
        if let Some(base_url) = email_pairs {
            let members = crate::store::rounds::round_members_in(&mut *tx, round.id).await?;
            emails_queued = rounds::queue_pairing_emails(
                &mut tx,
                trial,
                &round,
                &rounds::group_views(members),
                base_url,
                now,
                rounds::PairingEmails {
                    feedback_links: false,
                    calendar: false,
                },
            )
            .await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        let view = rounds::view(store, trial, round, now).await?;
        return Ok(QuickRound {
            view,
            unplaced,
            emails_queued,
            already_started: false,
        });
    }
    Err(EventError::NotNow(
        "another round was being started at the same time; try again".into(),
    ))
}

/// Queues, once per person, the summary of the event: everyone they met in its quick rounds
/// with a way to reach them, and a feedback link for each group. Returns how many were queued
/// now; people who have had theirs, or have no confirmed address, or met nobody, get nothing.
pub async fn send_summaries(
    store: &Store,
    trial: &Trial,
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<usize, EventError> {
    event(trial)?;
    let domain = mail::message_domain(base_url);
    // Read before the transaction, so that its first statement is a write: on SQLite a
    // transaction that reads first cannot write once another one has (a second organiser
    // pressing at the same moment would get an error). `record_summary` is the guard against
    // sending twice, so a list read a moment early does no harm.
    let rows = event_meetings(store, trial.id).await?;
    let mut tx = store.pool().begin().await.map_err(StoreError::from)?;
    let mut queued = 0;
    for person in rows.chunk_by(|a, b| a.membership_id == b.membership_id) {
        let me = &person[0];
        if !record_summary(&mut tx, trial.id, me.membership_id, now).await? {
            continue;
        }
        let mut meetings: Vec<event_summary::Meeting> = Vec::new();
        for group in person.chunk_by(|a, b| a.group_id == b.group_id) {
            let link = crate::links::issue_feedback_link(
                &mut tx,
                me.membership_id,
                group[0].group_id,
                base_url,
                now,
            )
            .await?;
            meetings.push(event_summary::Meeting {
                round_number: group[0].round_number,
                table_label: group[0].table_label.clone().unwrap_or_default(),
                people: group
                    .iter()
                    .map(|row| event_summary::Person {
                        name: row.partner_name.clone(),
                        attribute_value: row.partner_attribute_value.clone(),
                        role: row.partner_role.clone(),
                        email: row.partner_email.clone().unwrap_or_default(),
                    })
                    .collect(),
                // At an event they met: the page opens with that answer picked.
                feedback_link: format!("{link}?answer=met"),
            });
        }
        let links = crate::links::issue_links(&mut tx, me.membership_id, base_url, now).await?;
        let context = event_summary::Context {
            name: me.name.clone(),
            trial_name: trial.name.clone(),
            attribute_name: trial.attribute_name.clone(),
            meetings,
            manage_link: links.manage.clone(),
            unsubscribe_link: links.unsubscribe.clone(),
        };
        let mut email =
            crate::links::with_list_unsubscribe(mail::render(&context, &me.email)?, &links);
        email.participant_id = Some(me.participant_id);
        outbox::enqueue(&mut tx, &email, &domain, now).await?;
        queued += 1;
    }
    tx.commit().await.map_err(StoreError::from)?;
    Ok(queued)
}

/// What the projector shows: the newest quick round and the time left in it.
#[derive(Debug, Clone)]
pub struct Display {
    pub round: Option<RoundView>,
    pub minutes: i64,
    pub ends_at: Option<DateTime<Utc>>,
    pub seconds_left: i64,
}

pub fn round_minutes(trial: &Trial) -> i64 {
    trial
        .event_round_minutes
        .filter(|m| *m > 0)
        .unwrap_or(DEFAULT_ROUND_MINUTES)
}

pub async fn display(
    store: &Store,
    trial: &Trial,
    now: DateTime<Utc>,
) -> Result<Display, EventError> {
    let minutes = round_minutes(trial);
    let Some(round) = store.latest_quick_round(trial.id).await? else {
        return Ok(Display {
            round: None,
            minutes,
            ends_at: None,
            seconds_left: 0,
        });
    };
    let ends_at = round.published_at.map(|t| t + Duration::minutes(minutes));
    let seconds_left = ends_at
        .map(|end| (end - now).num_seconds().max(0))
        .unwrap_or(0);
    let view = rounds::view(store, trial, round, now).await?;
    Ok(Display {
        round: Some(view),
        minutes,
        ends_at,
        seconds_left,
    })
}

/// A person's own page at the event.
#[derive(Debug, Clone)]
pub struct PhoneView {
    pub member: Member,
    pub trial: Trial,
    pub checked_in: bool,
    pub left: bool,
    /// The newest quick round, if there is one.
    pub round_number: Option<i64>,
    /// Their table and partners in that round, if they are in it.
    pub seat: Option<PhoneSeat>,
}

#[derive(Debug, Clone)]
pub struct PhoneSeat {
    pub table_label: String,
    pub partners: Vec<String>,
}

/// The page behind an event link, or None when the link does not work (any more).
pub async fn phone_view(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<PhoneView>, EventError> {
    let Some(member) = crate::links::member_by_link(store, LinkPurpose::Event, token, now).await?
    else {
        return Ok(None);
    };
    let Some(trial) = store.trial_by_id(member.trial_id).await? else {
        return Ok(None);
    };
    let (checked_in, left_room) = store.room_status(member.membership_id).await?;
    let left = left_room || member.state == MembershipState::Left;
    let latest = store.latest_quick_round(trial.id).await?;
    let mut seat = None;
    if let Some(round) = &latest {
        if let Some(s) = store.seat_in_round(round.id, member.membership_id).await? {
            seat = Some(PhoneSeat {
                table_label: s.table_label.unwrap_or_default(),
                partners: store
                    .group_partner_names(s.group_id, member.membership_id)
                    .await?,
            });
        }
    }
    Ok(Some(PhoneView {
        member,
        trial,
        checked_in,
        left,
        round_number: latest.map(|r| r.number),
        seat,
    }))
}

/// "I'm here" from a person's own phone. False when the link does not work; a person marked
/// as gone home stays so until an organiser ticks them (the organiser decides that).
pub async fn im_here(store: &Store, token: &str, now: DateTime<Utc>) -> Result<bool, EventError> {
    let Some(member) = crate::links::member_by_link(store, LinkPurpose::Event, token, now).await?
    else {
        return Ok(false);
    };
    store.check_in_membership(member.membership_id, now).await?;
    Ok(true)
}

/// A QR code of `text` as an inline `<svg>` element (no XML declaration), scaled by CSS.
pub fn qr_svg(text: &str) -> Result<String, qrcode::types::QrError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(320, 320)
        .quiet_zone(true)
        .build();
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code of the sign-up address\" class=\"qr\" ",
        1,
    ))
}

/// Time as the display's countdown script reads it.
pub fn ends_at_text(ends_at: DateTime<Utc>) -> String {
    to_db(ends_at)
}

/// How many end-of-event summaries have gone out for the trial.
pub async fn summaries_sent(store: &Store, trial: &Trial) -> Result<i64, StoreError> {
    store.summaries_sent(trial.id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_code_is_inline_svg_with_dark_modules() {
        let svg = qr_svg("https://coffee.example.org/t/study-day").unwrap();
        assert!(svg.starts_with("<svg "), "{}", &svg[..40]);
        assert!(!svg.contains("<?xml"));
        assert!(svg.contains("<path") && svg.contains("M"));
        assert!(svg.ends_with("</svg>"));
        // Different addresses give different codes.
        assert_ne!(svg, qr_svg("https://coffee.example.org/t/other").unwrap());
    }

    #[test]
    fn tables_are_numbered_from_one() {
        assert_eq!(table_label(1), "Table 1");
        assert_eq!(table_label(12), "Table 12");
    }
}
