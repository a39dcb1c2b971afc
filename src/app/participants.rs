//! What participants do for themselves, without a password: sign up, confirm by email, and
//! through their personal manage link edit, pause, skip, leave, keep a do-not-pair list,
//! export and erase. The web pages and the JSON API both call these functions.
use std::net::IpAddr;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::{Any, Transaction};

use crate::app::limits::RateLimits;

use crate::domain::{
    FieldError, GroupMeeting, MembershipState, ParticipantDetails, ParticipantInput,
};
use crate::links::{issue_links, link, new_link_token, participant_links};
use crate::mail::{self, participant_already, participant_confirm, RenderError};
use crate::matching::meet::{self, Reach};
use crate::store::history::{AnswerRow, EmailProblemRow};
use crate::store::outbox::{self, NewEmail};
use crate::store::participants::{AddOutcome, Member};
use crate::store::signup::{self, LinkPurpose, OtherMember};
use crate::store::time::to_db;
use crate::store::trials::Trial;
use crate::store::{Store, StoreError};
use crate::tokens;

pub const CONFIRM_DAYS: i64 = 7;
pub const MAX_PAUSE_DAYS: i64 = 366;
/// What pairings and statistics show in place of an erased person.
pub const ERASED_NAME: &str = "Former participant";

#[derive(Debug, thiserror::Error)]
pub enum ParticipantError {
    /// Input the person can correct, with the field at fault.
    #[error("{}", .0.first().map(|e| e.message.as_str()).unwrap_or("invalid input"))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ParticipantError {
    fn from(e: sqlx::Error) -> Self {
        ParticipantError::Store(e.into())
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> ParticipantError {
    ParticipantError::Invalid(vec![FieldError::new(field, message)])
}

/// A fresh manage token (not a link), e.g. for the page shown right after confirming.
async fn issue_manage_token(
    tx: &mut Transaction<'_, Any>,
    membership_id: i64,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    new_link_token(
        tx,
        LinkPurpose::Manage,
        membership_id,
        now,
        now + Duration::days(crate::links::MANAGE_LINK_DAYS),
    )
    .await
}

/// A new random token for a participant's link, stored only as its hash, valid until `expires`.
/// Checks a sign-up against the trial's rules, collecting every field error.
pub fn check_sign_up(
    trial: &Trial,
    input: &ParticipantInput,
    consent: bool,
) -> Result<ParticipantDetails, ParticipantError> {
    let mut errors = Vec::new();
    if !trial.is_open() {
        errors.push(FieldError::new(
            "trial",
            "this trial is not taking sign-ups at the moment",
        ));
    }
    let details = match ParticipantDetails::parse(input, &trial.attribute_value_list()) {
        Ok(d) => Some(d),
        Err(mut e) => {
            errors.append(&mut e);
            None
        }
    };
    if !consent {
        errors.push(FieldError::new(
            "consent",
            "please read the privacy notice and tick the box to agree",
        ));
    }
    match details {
        Some(d) if errors.is_empty() => Ok(d),
        _ => Err(ParticipantError::Invalid(errors)),
    }
}

/// A sign-up to a programme trial with everything that needs no database done: the tokens,
/// their links and the confirmation email as a new person gets it (the usual case; the others
/// are written by `app::signups`). Made before a transaction opens, so that SQLite's single
/// writer is held only for the inserts.
#[derive(Clone, Debug)]
pub struct PreparedSignUp {
    base_url: url::Url,
    trial: Trial,
    details: ParticipantDetails,
    now: DateTime<Utc>,
    confirm: String,
    manage_link: String,
    hashes: [String; 3],
    new_person_email: NewEmail,
    domain: String,
}

pub fn prepare_sign_up(
    base_url: &url::Url,
    trial: &Trial,
    details: &ParticipantDetails,
    now: DateTime<Utc>,
) -> Result<PreparedSignUp, ParticipantError> {
    let (manage, unsubscribe, confirm) = (
        tokens::new_link_token(now),
        tokens::new_link_token(now),
        tokens::new_link_token(now),
    );
    let links = participant_links(base_url, &manage, &unsubscribe);
    let hashes = [
        tokens::hash_token(&manage),
        tokens::hash_token(&unsubscribe),
        tokens::hash_token(&confirm),
    ];
    let new_person_email = confirmation_message(
        base_url,
        trial,
        details.name.as_str().to_string(),
        details.email.as_str(),
        links.manage.clone(),
        &confirm,
        false,
    )?;
    Ok(PreparedSignUp {
        base_url: base_url.clone(),
        trial: trial.clone(),
        details: details.clone(),
        now,
        confirm,
        manage_link: links.manage,
        hashes,
        new_person_email,
        domain: mail::message_domain(base_url),
    })
}

impl PreparedSignUp {
    pub fn trial_id(&self) -> i64 {
        self.trial.id
    }

    pub fn details(&self) -> &ParticipantDetails {
        &self.details
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn message_domain(&self) -> &str {
        &self.domain
    }

    /// The links to store for a membership found in `state`: manage and unsubscribe always,
    /// the confirmation link when there is something to confirm.
    pub fn links_for(&self, state: MembershipState) -> Vec<(LinkPurpose, &str, DateTime<Utc>)> {
        let expires = self.now + Duration::days(crate::links::MANAGE_LINK_DAYS);
        let [manage_hash, unsubscribe_hash, confirm_hash] = &self.hashes;
        let mut links = vec![
            (LinkPurpose::Manage, manage_hash.as_str(), expires),
            (LinkPurpose::Unsubscribe, unsubscribe_hash.as_str(), expires),
        ];
        if matches!(state, MembershipState::Pending | MembershipState::Left) {
            links.push((
                LinkPurpose::Confirm,
                confirm_hash.as_str(),
                self.now + Duration::days(CONFIRM_DAYS),
            ));
        }
        links
    }

    /// The email of the usual case, a new pending membership of a person stored under the
    /// name typed; without its person, whom the database numbers.
    pub fn usual_email(&self) -> &NewEmail {
        &self.new_person_email
    }

    /// The email for a membership found in `state`, whose person is stored as `name`: the
    /// prepared one in the usual case, else one written for what was found.
    pub fn email_for(
        &self,
        state: MembershipState,
        name: String,
        participant_id: i64,
    ) -> Result<NewEmail, ParticipantError> {
        let (trial, details) = (&self.trial, &self.details);
        let mut email = match state {
            MembershipState::Pending if name == details.name.as_str() => {
                self.new_person_email.clone()
            }
            MembershipState::Pending | MembershipState::Left => confirmation_message(
                &self.base_url,
                trial,
                name,
                details.email.as_str(),
                self.manage_link.clone(),
                &self.confirm,
                state == MembershipState::Left,
            )?,
            _ => mail::render(
                &participant_already::Context {
                    name,
                    trial_name: trial.name.clone(),
                    manage_link: self.manage_link.clone(),
                },
                details.email.as_str(),
            )?,
        };
        email.participant_id = Some(participant_id);
        Ok(email)
    }
}

/// The confirmation email for a `confirm` token whose hash the caller stores.
fn confirmation_message(
    base_url: &url::Url,
    trial: &Trial,
    name: String,
    address: &str,
    manage_link: String,
    confirm: &str,
    rejoining: bool,
) -> Result<NewEmail, ParticipantError> {
    Ok(mail::render(
        &participant_confirm::Context {
            name,
            trial_name: trial.name.clone(),
            confirm_link: link(base_url, &format!("/c/{confirm}")),
            manage_link,
            expires_in_days: CONFIRM_DAYS,
            rejoining,
        },
        address,
    )?)
}

/// An event sign-up, always a person of its own with the name typed (see
/// `events::start_event_sign_up`), and a confirmation email to the address typed. Following
/// that link is what joins the sign-up to anyone already known by the address.
pub async fn sign_up_at_event(
    store: &Store,
    base_url: &url::Url,
    trial: &Trial,
    details: &ParticipantDetails,
    now: DateTime<Utc>,
) -> Result<String, ParticipantError> {
    let mut tx = store.pool().begin().await?;
    let signed = crate::app::events::start_event_sign_up(&mut tx, trial.id, details, now).await?;
    let links = issue_links(&mut tx, signed.membership_id, base_url, now).await?;
    let mut email = confirmation_email(
        &mut tx,
        base_url,
        trial,
        signed.membership_id,
        details.name.as_str().to_string(),
        details.email.as_str(),
        links.manage,
        false,
        now,
    )
    .await?;
    email.participant_id = Some(signed.participant_id);
    outbox::enqueue(&mut tx, &email, &mail::message_domain(base_url), now).await?;
    tx.commit().await?;
    metrics::counter!("signups_total", "kind" => "event").increment(1);
    Ok(signed.page_token)
}

/// A fresh confirmation link and the email that carries it, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn confirmation_email(
    tx: &mut Transaction<'_, Any>,
    base_url: &url::Url,
    trial: &Trial,
    membership_id: i64,
    name: String,
    address: &str,
    manage_link: String,
    rejoining: bool,
    now: DateTime<Utc>,
) -> Result<NewEmail, ParticipantError> {
    let token = new_link_token(
        tx,
        LinkPurpose::Confirm,
        membership_id,
        now,
        now + Duration::days(CONFIRM_DAYS),
    )
    .await?;
    confirmation_message(
        base_url,
        trial,
        name,
        address,
        manage_link,
        &token,
        rejoining,
    )
}

/// Sends a confirmation email to every pending person of the trial who has no usable
/// confirmation link yet (people added by an import or by an organiser). Safe to run again:
/// someone who already has a live link is left alone.
pub async fn queue_missing_confirmations(
    store: &Store,
    base_url: &url::Url,
    trial: &Trial,
    now: DateTime<Utc>,
) -> Result<usize, ParticipantError> {
    let waiting = store.pending_without_confirmation(trial.id, now).await?;
    let domain = mail::message_domain(base_url);
    for (membership_id, participant_id, name, address) in &waiting {
        let mut tx = store.pool().begin().await.map_err(StoreError::from)?;
        let links = issue_links(&mut tx, *membership_id, base_url, now).await?;
        let mut email = confirmation_email(
            &mut tx,
            base_url,
            trial,
            *membership_id,
            name.clone(),
            address,
            links.manage,
            false,
            now,
        )
        .await?;
        email.participant_id = Some(*participant_id);
        outbox::enqueue(&mut tx, &email, &domain, now).await?;
        tx.commit().await.map_err(StoreError::from)?;
    }
    Ok(waiting.len())
}

/// Follows a confirmation link (once). Returns the member with their trial, and a fresh
/// manage token.
pub async fn confirm(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<(LinkedMember, String)>, ParticipantError> {
    if !tokens::looks_like_token(token) {
        return Ok(None);
    }
    let mut tx = store.pool().begin().await?;
    let Some(membership_id) =
        signup::use_confirm_link(&mut tx, &tokens::hash_token(token), now).await?
    else {
        return Ok(None);
    };
    // An event sign-up made with a known address becomes that person only now.
    let membership_id =
        crate::store::events::join_claimed_identity(&mut tx, membership_id, now).await?;
    crate::store::webhooks::queue_event(
        &mut tx,
        crate::store::webhooks::Fact::ParticipantConfirmed { membership_id },
        now,
    )
    .await?;
    let manage = issue_manage_token(&mut tx, membership_id, now).await?;
    tx.commit().await?;
    let Some(member) = store.find_member_by_id(membership_id).await? else {
        return Ok(None);
    };
    Ok(with_trial(store, member)
        .await?
        .map(|found| (found, manage)))
}

pub use crate::links::member_by_link;

/// A member found by one of their links, with their trial (what every page behind a
/// personal link shows).
#[derive(Debug, Clone)]
pub struct LinkedMember {
    pub member: Member,
    pub trial: Trial,
}

/// The member behind a usable link of `purpose`, with their trial; `None` when the link no
/// longer works.
pub async fn linked_member(
    store: &Store,
    purpose: LinkPurpose,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<LinkedMember>, StoreError> {
    let Some(member) = member_by_link(store, purpose, token, now).await? else {
        return Ok(None);
    };
    with_trial(store, member).await
}

async fn with_trial(store: &Store, member: Member) -> Result<Option<LinkedMember>, StoreError> {
    Ok(store
        .trial_by_id(member.trial_id)
        .await?
        .map(|trial| LinkedMember { member, trial }))
}

/// What a member may edit; the email address is who they are, so it stays.
pub fn input_from(member: &Member) -> ParticipantInput {
    ParticipantInput {
        name: member.name.clone(),
        email: member.email.clone().unwrap_or_default(),
        attribute_value: member.attribute_value.clone(),
        role: member.role.clone(),
        site: member.site.clone(),
        team: member.team.clone(),
        meeting_modes: vec![member.meeting_modes.clone()],
        introduction: member.introduction.clone(),
    }
}

pub async fn update_details(
    store: &Store,
    trial: &Trial,
    member: &Member,
    input: &ParticipantInput,
    now: DateTime<Utc>,
) -> Result<(), ParticipantError> {
    let mut input = input.clone();
    input.email = member.email.clone().unwrap_or_default();
    input.team = member.team.clone();
    let details = ParticipantDetails::parse(&input, &trial.attribute_value_list())
        .map_err(ParticipantError::Invalid)?;
    store.update_member_details(member, &details, now).await?;
    Ok(())
}

fn require_taking_part(member: &Member) -> Result<(), ParticipantError> {
    match member.state {
        MembershipState::Active | MembershipState::Paused => Ok(()),
        MembershipState::Pending => Err(invalid(
            "state",
            "confirm your email address first, with the link in the email we sent",
        )),
        _ => Err(invalid(
            "state",
            "you have left this trial; join again first",
        )),
    }
}

/// The day a pause ends, from what was typed: a date such as 2026-05-01, after today and at
/// most `MAX_PAUSE_DAYS` ahead. Empty means "until someone resumes" where `open_ended` allows it.
fn pause_end(
    until: &str,
    open_ended: bool,
    now: DateTime<Utc>,
) -> Result<Option<NaiveDate>, ParticipantError> {
    let text = until.trim();
    if text.is_empty() && open_ended {
        return Ok(None);
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        if open_ended {
            invalid(
                "until",
                "enter a date such as 2026-05-01, or leave it empty",
            )
        } else {
            invalid("until", "enter a date such as 2026-05-01")
        }
    })?;
    let today = now.date_naive();
    if date <= today {
        return Err(invalid("until", "choose a date after today"));
    }
    if date > today + Duration::days(MAX_PAUSE_DAYS) {
        return Err(invalid(
            "until",
            "a pause lasts at most a year; choose an earlier date",
        ));
    }
    Ok(Some(date))
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc()
}

/// Pauses until the start of `until` (a date such as 2026-05-01), which must be in the future.
pub async fn pause(
    store: &Store,
    member: &Member,
    until: &str,
    now: DateTime<Utc>,
) -> Result<NaiveDate, ParticipantError> {
    require_taking_part(member)?;
    let date = pause_end(until, false, now)?.expect("a date is required");
    store
        .set_member_state(
            member.membership_id,
            MembershipState::Paused,
            Some(midnight(date)),
            now,
        )
        .await?;
    Ok(date)
}

pub async fn resume(
    store: &Store,
    member: &Member,
    now: DateTime<Utc>,
) -> Result<(), ParticipantError> {
    require_taking_part(member)?;
    store
        .set_member_state(member.membership_id, MembershipState::Active, None, now)
        .await?;
    Ok(())
}

pub async fn skip_next_round(
    store: &Store,
    member: &Member,
    skip: bool,
    now: DateTime<Utc>,
) -> Result<(), ParticipantError> {
    require_taking_part(member)?;
    store
        .set_skip_next_round(member.membership_id, skip, now)
        .await?;
    Ok(())
}

/// Leaves the trial; the details stay, so joining again later loses nothing.
pub async fn leave(
    store: &Store,
    member: &Member,
    now: DateTime<Utc>,
) -> Result<(), ParticipantError> {
    if member.state == MembershipState::Left {
        return Ok(());
    }
    store
        .set_member_state(member.membership_id, MembershipState::Left, None, now)
        .await?;
    Ok(())
}

pub async fn rejoin(
    store: &Store,
    trial: &Trial,
    member: &Member,
    now: DateTime<Utc>,
) -> Result<(), ParticipantError> {
    if member.state != MembershipState::Left {
        return Ok(());
    }
    if !trial.is_open() {
        return Err(invalid(
            "state",
            "this trial is not taking people at the moment, so you cannot join again yet",
        ));
    }
    store.rejoin_member(member.membership_id, now).await?;
    Ok(())
}

/// An organiser pauses someone, until the start of `until` (YYYY-MM-DD) or, when it is
/// empty, until an organiser or they themselves resume. Refusals about the person's state
/// are on the field `state`.
pub async fn pause_by_organiser(
    store: &Store,
    member: &Member,
    until: &str,
    now: DateTime<Utc>,
) -> Result<(), ParticipantError> {
    if !matches!(
        member.state,
        MembershipState::Active | MembershipState::Paused
    ) {
        return Err(invalid("state", "only active people can be paused"));
    }
    let until = pause_end(until, true, now)?.map(midnight);
    store
        .set_member_state(member.membership_id, MembershipState::Paused, until, now)
        .await?;
    Ok(())
}

pub async fn resume_by_organiser(
    store: &Store,
    member: &Member,
    now: DateTime<Utc>,
) -> Result<(), ParticipantError> {
    if member.state != MembershipState::Paused {
        return Err(invalid("state", "only paused people can be resumed"));
    }
    store
        .set_member_state(member.membership_id, MembershipState::Active, None, now)
        .await?;
    Ok(())
}

/// An organiser takes someone out of the trial (state `left`); their history stays.
pub async fn remove_by_organiser(
    store: &Store,
    member: &Member,
    now: DateTime<Utc>,
) -> Result<(), ParticipantError> {
    match member.state {
        MembershipState::Left => Ok(()),
        MembershipState::Erased => Err(invalid("state", "this person's data has been erased")),
        _ => Ok(leave(store, member, now).await?),
    }
}

/// The people a member may put on their private do-not-pair list, and who is on it now.
/// The people a participant's own pages may name for the do-not-pair list, and the list
/// itself: the people they have been paired with and the people already on it, never the
/// whole trial (anyone else is found with [`find_for_do_not_pair`]).
pub async fn do_not_pair(
    store: &Store,
    member: &Member,
) -> Result<(Vec<OtherMember>, Vec<OtherMember>), StoreError> {
    let choices = do_not_pair_choices(store, member).await?;
    let mut shown = choices.chosen.clone();
    shown.extend(choices.partners);
    shown.sort_by_key(|p| p.name.to_lowercase());
    Ok((shown, choices.chosen))
}

/// What the manage page shows of the do-not-pair list.
#[derive(Clone, Debug, Default)]
pub struct DoNotPairChoices {
    /// On the list.
    pub chosen: Vec<OtherMember>,
    /// Paired with in a published round and not on the list.
    pub partners: Vec<OtherMember>,
}

pub async fn do_not_pair_choices(
    store: &Store,
    member: &Member,
) -> Result<DoNotPairChoices, StoreError> {
    let chosen = store.do_not_pair_list(member.membership_id).await?;
    let partners = store
        .people_paired_with(member.membership_id)
        .await?
        .into_iter()
        .filter(|p| !chosen.iter().any(|c| c.public_id == p.public_id))
        .collect();
    Ok(DoNotPairChoices { chosen, partners })
}

/// Shortest text the do-not-pair search accepts: one letter would match most of a trial.
pub const MIN_SEARCH_CHARS: usize = 2;
/// Most people one search shows.
pub const MAX_SEARCH_RESULTS: usize = 10;
/// Searches per manage link, and per client address, in [`SEARCH_WINDOW_SECONDS`]: plenty
/// to find a few people, far too few to read a trial's names out ten at a time.
pub const SEARCHES_PER_PERSON: u32 = 20;
pub const SEARCHES_PER_ADDRESS: u32 = 60;
pub const SEARCH_WINDOW_SECONDS: i64 = 3600;

/// A do-not-pair search's answer: people with whether they are on the list already.
#[derive(Clone, Debug, Default)]
pub struct Found {
    pub people: Vec<(OtherMember, bool)>,
    /// More people matched than are shown; the person should type more of the name.
    pub more: bool,
}

/// People of `member`'s trial whose name contains `query`, for the do-not-pair list: at most
/// [`MAX_SEARCH_RESULTS`], only for [`MIN_SEARCH_CHARS`] or more, and only so many searches an
/// hour (the field `limit` says when to come back).
pub async fn find_for_do_not_pair(
    limits: &RateLimits,
    member: &Member,
    query: &str,
    client: IpAddr,
    now: DateTime<Utc>,
) -> Result<Found, ParticipantError> {
    let query = query.trim();
    if query.chars().count() < MIN_SEARCH_CHARS {
        return Err(invalid(
            "q",
            format!("type at least {MIN_SEARCH_CHARS} letters of the name"),
        ));
    }
    for (key, limit) in [
        (
            limits.key("do-not-pair-search", &[&member.public_id]),
            SEARCHES_PER_PERSON,
        ),
        (
            limits.key("do-not-pair-search-address", &[&client.to_string()]),
            SEARCHES_PER_ADDRESS,
        ),
    ] {
        let usage = limits.hit(&key, SEARCH_WINDOW_SECONDS, now).await?;
        if usage.recent > f64::from(limit) {
            let minutes = usage
                .seconds_until_at_most(f64::from(limit) - 1.0)
                .div_ceil(60);
            return Err(invalid(
                "limit",
                format!("that is a lot of searches for one hour; try again in {minutes} minutes"),
            ));
        }
    }
    let store = limits.store();
    let pattern = crate::store::search::name_like_pattern(query);
    let mut people = store
        .find_people_by_name(member, &pattern, MAX_SEARCH_RESULTS as i64 + 1)
        .await?;
    let more = people.len() > MAX_SEARCH_RESULTS;
    people.truncate(MAX_SEARCH_RESULTS);
    let chosen = store.do_not_pair_list(member.membership_id).await?;
    Ok(Found {
        people: people
            .into_iter()
            .map(|p| {
                let on = chosen.iter().any(|c| c.public_id == p.public_id);
                (p, on)
            })
            .collect(),
        more,
    })
}

fn looks_like_public_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Puts one person on `member`'s do-not-pair list.
pub async fn add_do_not_pair(
    store: &Store,
    member: &Member,
    public_id: &str,
    now: DateTime<Utc>,
) -> Result<(), ParticipantError> {
    if !looks_like_public_id(public_id) {
        return Err(invalid("people", "choose someone from the search"));
    }
    if store.do_not_pair_count(member.membership_id).await? >= MAX_DO_NOT_PAIR as i64 {
        return Err(invalid(
            "people",
            format!("your list is full: at most {MAX_DO_NOT_PAIR} people"),
        ));
    }
    // Adding someone twice, or someone who has since been erased, changes nothing to report.
    store.add_do_not_pair(member, public_id, now).await?;
    Ok(())
}

/// Takes one person off `member`'s do-not-pair list.
pub async fn remove_do_not_pair(
    store: &Store,
    member: &Member,
    public_id: &str,
) -> Result<(), ParticipantError> {
    if !looks_like_public_id(public_id) {
        return Err(invalid("people", "choose someone from your list"));
    }
    store
        .remove_do_not_pair(member.membership_id, public_id)
        .await?;
    Ok(())
}

pub const MAX_DO_NOT_PAIR: usize = 200;

pub async fn set_do_not_pair(
    store: &Store,
    member: &Member,
    public_ids: &[String],
    now: DateTime<Utc>,
) -> Result<usize, ParticipantError> {
    if public_ids.len() > MAX_DO_NOT_PAIR {
        return Err(invalid(
            "people",
            format!("choose at most {MAX_DO_NOT_PAIR} people"),
        ));
    }
    if public_ids.iter().any(|id| !looks_like_public_id(id)) {
        return Err(invalid("people", "choose people from the list"));
    }
    Ok(store.set_do_not_pair(member, public_ids, now).await?)
}

/// Everything stored about the person behind `member`, in every trial, as JSON.
pub async fn export(
    store: &Store,
    member: &Member,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, StoreError> {
    let mut memberships = Vec::new();
    for m in store
        .memberships_of_participant(member.participant_id)
        .await?
    {
        let (slug, trial_name, attribute_name) = match store.trial_by_id(m.trial_id).await? {
            Some(t) => (t.slug, t.name, t.attribute_name),
            None => Default::default(),
        };
        let mut rounds: Vec<serde_json::Value> = Vec::new();
        for p in store.past_partners(m.membership_id).await? {
            match rounds.last_mut() {
                Some(r) if r["round"] == p.round_number => r["partners"]
                    .as_array_mut()
                    .expect("array")
                    .push(p.name.into()),
                _ => rounds.push(serde_json::json!({
                    "round": p.round_number,
                    "published_at": p.published_at.map(to_db),
                    "partners": [p.name],
                })),
            }
        }
        let do_not_pair: Vec<String> = store
            .do_not_pair_list(m.membership_id)
            .await?
            .into_iter()
            .map(|o| o.name)
            .collect();
        memberships.push(serde_json::json!({
            "trial": { "slug": slug, "name": trial_name },
            "public_id": m.public_id,
            "state": m.state.as_str(),
            "grouping_attribute": attribute_name,
            "attribute_value": m.attribute_value,
            "role": m.role,
            "site": m.site,
            "team": m.team,
            "meeting_modes": m.meeting_mode_list().iter().map(|x| x.as_str()).collect::<Vec<_>>(),
            "introduction": m.introduction,
            "paused_until": m.paused_until.map(to_db),
            "skip_next_round": m.skip_next_round,
            "consent_at": m.consent_at.map(to_db),
            "confirmed_at": m.confirmed_at.map(to_db),
            "created_at": to_db(m.created_at),
            "updated_at": to_db(m.updated_at),
            "do_not_pair": do_not_pair,
            "rounds": rounds,
            "feedback": store.own_feedback(m.membership_id).await?,
        }));
    }
    Ok(serde_json::json!({
        "exported_at": to_db(now),
        "name": member.name,
        "email": member.email,
        "memberships": memberships,
    }))
}

/// Erases the person everywhere: name and address gone, free text cleared, links and
/// do-not-pair lists deleted; pairings keep an anonymous placeholder.
pub async fn erase(store: &Store, member: &Member, now: DateTime<Utc>) -> Result<(), StoreError> {
    store
        .erase_participant(member.participant_id, ERASED_NAME, now)
        .await
}

/// Stops emails from a trial: the person leaves it (nothing else is sent to members who left).
pub async fn unsubscribe(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<LinkedMember>, ParticipantError> {
    let Some(found) = linked_member(store, LinkPurpose::Unsubscribe, token, now).await? else {
        return Ok(None);
    };
    leave(store, &found.member, now).await?;
    Ok(Some(found))
}

/// The member as stored now (after a change made through one of their links).
pub async fn member_now(store: &Store, member: &Member) -> Result<Option<Member>, StoreError> {
    store.find_member_by_id(member.membership_id).await
}

/// One person of a trial, by the id the console and the API show.
pub async fn find_member(
    store: &Store,
    trial: &Trial,
    public_id: &str,
) -> Result<Option<Member>, StoreError> {
    store.find_member(trial.id, public_id).await
}

/// A trial's people matching the query (its own limit and offset apply).
pub async fn list_members(
    store: &Store,
    trial: &Trial,
    query: &crate::store::participants::MemberQuery,
) -> Result<Vec<Member>, StoreError> {
    store.list_members(trial.id, query).await
}

/// How many of a trial's people match the query's filters (paging aside).
pub async fn count_members(
    store: &Store,
    trial: &Trial,
    query: &crate::store::participants::MemberQuery,
) -> Result<i64, StoreError> {
    store.count_member_query(trial.id, query).await
}

/// One page of a trial's people for the API (`query` carries the limit and offset), with how
/// many match over all pages: the two queries run at once.
pub async fn member_page(
    store: &Store,
    trial: &Trial,
    query: &crate::store::participants::MemberQuery,
) -> Result<(Vec<Member>, i64), StoreError> {
    tokio::try_join!(
        store.list_members(trial.id, query),
        store.count_member_query(trial.id, query)
    )
}

/// One page of a trial's people for the console, with the counts per state.
pub struct RosterPage {
    pub members: Vec<Member>,
    pub counts: Vec<(MembershipState, i64)>,
    /// How many match the search and state, over all pages.
    pub matching: i64,
    /// The page shown (the one asked for, kept within the pages there are), from 1.
    pub page: i64,
    pub pages: i64,
}

pub async fn roster_page(
    store: &Store,
    trial: &Trial,
    mut query: crate::store::participants::MemberQuery,
    page: Option<i64>,
    page_size: i64,
) -> Result<RosterPage, StoreError> {
    let matching = count_members(store, trial, &query).await?;
    let pages = ((matching + page_size - 1) / page_size).max(1);
    let page = page.unwrap_or(1).clamp(1, pages);
    query.limit = page_size;
    query.offset = (page - 1) * page_size;
    let (members, counts) = tokio::try_join!(
        store.list_members(trial.id, &query),
        store.count_members_by_state(trial.id)
    )?;
    Ok(RosterPage {
        members,
        counts,
        matching,
        page,
        pages,
    })
}

/// An organiser adds one person: active at once when the organiser has their consent,
/// pending (waiting for the person to confirm) otherwise.
pub async fn add_by_organiser(
    store: &Store,
    trial: &Trial,
    details: &ParticipantDetails,
    consent: bool,
    now: DateTime<Utc>,
) -> Result<AddOutcome, StoreError> {
    let (state, consent_at) = if consent {
        (MembershipState::Active, Some(now))
    } else {
        (MembershipState::Pending, None)
    };
    store
        .add_one_member(trial.id, details, state, consent_at, now)
        .await
}

/// The person behind a usable skip link, with the trial's name and when the round is.
pub struct SkipLink {
    pub member: Member,
    pub trial_name: String,
    /// The round's start in the trial's time zone, or "the next round".
    pub round_label: String,
}

pub async fn skip_link(
    store: &Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<SkipLink>, StoreError> {
    let Some(member) = member_by_link(store, LinkPurpose::Skip, token, now).await? else {
        return Ok(None);
    };
    let Some(trial) = store.trial_by_id(member.trial_id).await? else {
        return Ok(None);
    };
    // The link expires when its round starts, so its expiry is the round's time.
    let round_label = store
        .skip_link_expiry(&tokens::hash_token(token))
        .await?
        .map(|slot| crate::domain::local_label(trial.tz(), slot))
        .unwrap_or_else(|| "the next round".to_string());
    Ok(Some(SkipLink {
        member,
        trial_name: trial.name,
        round_label,
    }))
}

/// One of a person's groups, as their page in the console shows it.
#[derive(Clone, Debug)]
pub struct PairingView {
    pub round_number: i64,
    pub published_at: Option<DateTime<Utc>>,
    /// Name and public id of each other member.
    pub partners: Vec<(String, String)>,
    /// "both on site at Leeds or video", "phone", or "cannot meet: ..." (from what each
    /// member says today about how they meet).
    pub how_to_meet: String,
    /// What the group's answers say together.
    pub meeting: GroupMeeting,
}

impl PairingView {
    pub fn meeting_label(&self) -> &'static str {
        match self.meeting {
            GroupMeeting::Met => "met",
            GroupMeeting::NotYet => "not yet",
            GroupMeeting::CouldNotMeet => "could not meet",
            GroupMeeting::Unknown => "no answer yet",
        }
    }
}

/// An email to the person that did not go through.
#[derive(Clone, Debug)]
pub struct EmailProblem {
    pub row: EmailProblemRow,
    /// A later email to them has gone through since this one failed.
    pub resolved: bool,
}

/// What happened to a person in a trial: groups, answers, emails that did not reach them.
#[derive(Clone, Debug, Default)]
pub struct PersonHistory {
    pub pairings: Vec<PairingView>,
    pub answers: Vec<AnswerRow>,
    pub email_problems: Vec<EmailProblem>,
}

/// A person of a trial with their history, for their page in the console; `None` when the
/// trial has nobody with this id.
pub async fn person_with_history(
    store: &Store,
    trial: &Trial,
    public_id: &str,
) -> Result<Option<(Member, PersonHistory)>, StoreError> {
    let Some(member) = store.find_member(trial.id, public_id).await? else {
        return Ok(None);
    };
    let history = person_history(store, trial, &member).await?;
    Ok(Some((member, history)))
}

/// The history of one member of `trial`.
pub async fn person_history(
    store: &Store,
    trial: &Trial,
    member: &Member,
) -> Result<PersonHistory, StoreError> {
    let (rows, group_answers, answers, (problems, latest_sent), settings) = tokio::try_join!(
        store.pairings_of(member.membership_id),
        store.group_answers_of(member.membership_id),
        store.answers_of(member.membership_id),
        store.email_problems_of(member.participant_id),
        store.round_settings(trial.id),
    )?;
    let own = Reach {
        ways: crate::app::rounds::ways_of(&member.meeting_modes),
        site: Some(member.site.as_str()),
    };
    let mut pairings: Vec<PairingView> = Vec::new();
    let mut group_of_last: Option<i64> = None;
    let mut reaches: Vec<Vec<(String, String)>> = Vec::new();
    for row in &rows {
        if group_of_last != Some(row.group_id) {
            group_of_last = Some(row.group_id);
            pairings.push(PairingView {
                round_number: row.round_number,
                published_at: row.published_at,
                partners: Vec::new(),
                how_to_meet: String::new(),
                meeting: GroupMeeting::from_answers(
                    group_answers
                        .iter()
                        .filter(|(g, _)| *g == row.group_id)
                        .map(|(_, o)| *o),
                ),
            });
            reaches.push(Vec::new());
        }
        let last = pairings.len() - 1;
        pairings[last]
            .partners
            .push((row.partner_name.clone(), row.partner_public_id.clone()));
        reaches[last].push((row.partner_meeting_modes.clone(), row.partner_site.clone()));
    }
    for (view, others) in pairings.iter_mut().zip(&reaches) {
        let mut group = vec![own];
        group.extend(others.iter().map(|(modes, site)| Reach {
            ways: crate::app::rounds::ways_of(modes),
            site: Some(site.as_str()),
        }));
        let how = meet::how_group_meets(&group, settings.same_site_only);
        view.how_to_meet = crate::app::rounds::describe_how(&how, group.len());
    }
    let email_problems = problems
        .into_iter()
        .map(|row| EmailProblem {
            resolved: latest_sent.is_some_and(|sent| sent > row.id),
            row,
        })
        .collect();
    Ok(PersonHistory {
        pairings,
        answers,
        email_problems,
    })
}
