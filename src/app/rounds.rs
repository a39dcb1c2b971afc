//! Rounds: propose groups with the pairing engine, let an organiser reshuffle or swap people,
//! then publish, which records the round for good and queues every pairing email in the same
//! transaction.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};

use crate::mail::{self, pairing};
use crate::matching::{self, Instance, PastGroup, PastRound, Person};
use crate::store::participants::MemberQuery;
use crate::store::rounds::{mark_published, Candidate, GroupMember, NewGroup, Round};
use crate::store::trials::Trial;
use crate::store::{outbox, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    #[error("this round has been published and can no longer be changed")]
    Published,
    #[error("no such round")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] mail::RenderError),
}

/// A round with its groups, for previews and pages.
#[derive(Debug, Clone)]
pub struct RoundView {
    pub round: Round,
    pub groups: Vec<GroupView>,
    /// Available people the engine could not place, with the reason.
    pub unplaced: Vec<UnplacedView>,
}

impl RoundView {
    /// People placed in a draft who have asked to skip since it was drawn up: publishing would
    /// pair them anyway, so the console warns and suggests a reshuffle.
    pub fn skipping_in_draft(&self) -> usize {
        if !self.round.is_draft() {
            return 0;
        }
        self.groups
            .iter()
            .flat_map(|g| &g.members)
            .filter(|m| m.skip_next_round != 0)
            .count()
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupView {
    pub position: i64,
    pub reason: String,
    pub table_label: Option<String>,
    pub members: Vec<GroupMember>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct UnplacedView {
    pub public_id: String,
    pub why: String,
}

/// Everything the engine needs for one trial, read from the store.
pub(crate) struct Inputs {
    instance: Instance,
    membership_by_public_id: HashMap<String, i64>,
}

async fn engine_inputs(
    store: &Store,
    trial: &Trial,
    now: DateTime<Utc>,
) -> Result<Inputs, StoreError> {
    let candidates = store.round_candidates(trial.id, now).await?;
    engine_inputs_for(store, trial, candidates).await
}

/// The engine's inputs for a chosen set of people (an event pairs only those in the room).
pub(crate) async fn engine_inputs_for(
    store: &Store,
    trial: &Trial,
    candidates: Vec<crate::store::rounds::Candidate>,
) -> Result<Inputs, StoreError> {
    let exclusions = store.do_not_pair_lists(trial.id).await?;
    let public_by_membership: HashMap<i64, String> = candidates
        .iter()
        .map(|c| (c.membership_id, c.public_id.clone()))
        .collect();
    let mut do_not_pair: HashMap<i64, Vec<String>> = HashMap::new();
    for (who, other) in exclusions {
        if let Some(other_public) = public_by_membership.get(&other) {
            do_not_pair
                .entry(who)
                .or_default()
                .push(other_public.clone());
        }
    }
    let participants = candidates
        .iter()
        .map(|c| Person {
            id: c.public_id.clone(),
            group: Some(c.attribute_value.clone()).filter(|v| !v.is_empty()),
            never_together: Some(c.team.clone()).filter(|t| !t.is_empty()),
            do_not_pair: do_not_pair.remove(&c.membership_id).unwrap_or_default(),
            ..Default::default()
        })
        .collect();
    let mut history: Vec<PastRound> = Vec::new();
    let mut last: Option<(i64, i64)> = None;
    for row in store.round_history(trial.id).await? {
        if last.map(|(r, _)| r) != Some(row.round_number) {
            history.push(PastRound { groups: Vec::new() });
        }
        let round = history.last_mut().expect("pushed above");
        if last != Some((row.round_number, row.group_id)) {
            round.groups.push(PastGroup {
                members: Vec::new(),
                met: row.met,
            });
        }
        round
            .groups
            .last_mut()
            .expect("pushed above")
            .members
            .push(row.public_id);
        last = Some((row.round_number, row.group_id));
    }
    Ok(Inputs {
        instance: Instance {
            participants,
            history,
            rules: matching::Rules {
                group_size: usize::try_from(trial.group_size).unwrap_or(2),
                ..Default::default()
            },
        },
        membership_by_public_id: candidates
            .into_iter()
            .map(|c| (c.public_id, c.membership_id))
            .collect(),
    })
}

/// Runs the engine off the async threads: large trials take a noticeable fraction of a second.
pub(crate) async fn run_engine(inputs: Inputs, seed: u64) -> (Vec<NewGroup>, Vec<UnplacedView>) {
    let Inputs {
        instance,
        membership_by_public_id,
    } = inputs;
    let outcome = tokio::task::spawn_blocking(move || matching::pair(&instance, seed))
        .await
        .expect("the pairing engine does not panic");
    let groups = outcome
        .groups
        .into_iter()
        .map(|g| NewGroup {
            membership_ids: g
                .members
                .iter()
                .filter_map(|id| membership_by_public_id.get(id).copied())
                .collect(),
            reason: g.reason,
            table_label: None,
        })
        .collect();
    let unplaced = outcome
        .unplaced
        .into_iter()
        .map(|u| UnplacedView {
            public_id: u.id,
            why: u.why,
        })
        .collect();
    (groups, unplaced)
}

/// The groups the engine proposes for the trial now, from who is available and who has met
/// before. Writes nothing: saving a draft and the command line's dry run both start here.
pub async fn proposal(
    store: &Store,
    trial: &Trial,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<Vec<NewGroup>, StoreError> {
    let inputs = engine_inputs(store, trial, now).await?;
    let (groups, _) = run_engine(inputs, seed).await;
    Ok(groups)
}

/// A round to look at without saving it: the draft already waiting, or what a new one would be.
#[derive(Debug, Clone)]
pub struct RoundPreview {
    pub number: i64,
    pub seed: String,
    pub groups: Vec<PreviewGroup>,
    pub unplaced: Vec<UnplacedView>,
}

#[derive(Debug, Clone)]
pub struct PreviewGroup {
    pub position: i64,
    pub reason: String,
    /// (name, attribute value) of each person.
    pub members: Vec<(String, String)>,
}

impl From<RoundView> for RoundPreview {
    fn from(view: RoundView) -> Self {
        RoundPreview {
            number: view.round.number,
            seed: view.round.seed,
            groups: view
                .groups
                .into_iter()
                .map(|g| PreviewGroup {
                    position: g.position,
                    reason: g.reason,
                    members: g
                        .members
                        .into_iter()
                        .map(|m| (m.name, m.attribute_value))
                        .collect(),
                })
                .collect(),
            unplaced: view.unplaced,
        }
    }
}

/// What [`propose`] would show, without writing anything: the waiting draft when there is
/// one (an organiser's draft is left alone), otherwise the groups a new round would have.
pub async fn preview(
    store: &Store,
    trial: &Trial,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<RoundPreview, RoundError> {
    if let Some(draft) = store.find_draft_round(trial.id).await? {
        return Ok(view(store, trial, draft, now).await?.into());
    }
    let groups = proposal(store, trial, seed, now).await?;
    let people: HashMap<i64, (String, String)> = store
        .list_members(trial.id, &MemberQuery::default())
        .await?
        .into_iter()
        .map(|m| (m.membership_id, (m.name, m.attribute_value)))
        .collect();
    let placed: HashSet<i64> = groups
        .iter()
        .flat_map(|g| g.membership_ids.iter().copied())
        .collect();
    let candidates = store.round_candidates(trial.id, now).await?;
    let number = store
        .list_rounds(trial.id)
        .await?
        .first()
        .map_or(1, |r| r.number + 1);
    Ok(RoundPreview {
        number,
        seed: seed.to_string(),
        groups: groups
            .into_iter()
            .zip(1..)
            .map(|(g, position)| PreviewGroup {
                position,
                reason: g.reason,
                members: {
                    // In the order a saved round lists them.
                    let mut members: Vec<_> = g
                        .membership_ids
                        .iter()
                        .filter_map(|id| people.get(id).cloned())
                        .collect();
                    members.sort();
                    members
                },
            })
            .collect(),
        unplaced: unplaced(candidates, |c| placed.contains(&c.membership_id)),
    })
}

/// Proposes a draft round for the trial, or returns the draft that is already waiting.
/// `slot` marks a scheduled round; a second proposal for the same slot returns `None`.
pub async fn propose(
    store: &Store,
    trial: &Trial,
    kind: crate::domain::RoundKind,
    slot: Option<DateTime<Utc>>,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<Option<RoundView>, RoundError> {
    if slot.is_none() {
        if let Some(draft) = store.find_draft_round(trial.id).await? {
            return Ok(Some(view(store, trial, draft, now).await?));
        }
    }
    let groups = proposal(store, trial, seed, now).await?;
    // A manual round can only lose a race for its round number; try again then.
    for _ in 0..3 {
        if let Some(round) = store
            .create_draft_round(trial.id, kind, seed, slot, &groups, now)
            .await?
        {
            return Ok(Some(view(store, trial, round, now).await?));
        }
        if slot.is_some() {
            return Ok(None);
        }
    }
    Err(RoundError::Invalid(
        "another round was being created at the same time; try again".into(),
    ))
}

/// The draft again with a new seed.
pub async fn reshuffle(
    store: &Store,
    trial: &Trial,
    round_id: i64,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<RoundView, RoundError> {
    let round = draft(store, trial, round_id).await?;
    let inputs = engine_inputs(store, trial, now).await?;
    let (groups, _) = run_engine(inputs, seed).await;
    if !store.replace_draft_groups(round.id, seed, &groups).await? {
        return Err(RoundError::Published);
    }
    let round = store
        .find_round(round.id)
        .await?
        .ok_or(RoundError::NotFound)?;
    view(store, trial, round, now).await
}

/// Exchanges two people between their groups in a draft.
pub async fn swap(
    store: &Store,
    trial: &Trial,
    round_id: i64,
    a: &str,
    b: &str,
    now: DateTime<Utc>,
) -> Result<RoundView, RoundError> {
    let round = draft(store, trial, round_id).await?;
    let members = store.round_members(round.id).await?;
    let find = |public_id: &str| members.iter().find(|m| m.public_id == public_id).cloned();
    let (Some(first), Some(second)) = (find(a), find(b)) else {
        return Err(RoundError::Invalid(
            "choose two people who are in this round".into(),
        ));
    };
    if first.group_id == second.group_id {
        return Err(RoundError::Invalid(
            "these two are already in the same group".into(),
        ));
    }
    let mut groups: Vec<(i64, NewGroup)> = Vec::new();
    for m in &members {
        let membership_id = if m.membership_id == first.membership_id {
            second.membership_id
        } else if m.membership_id == second.membership_id {
            first.membership_id
        } else {
            m.membership_id
        };
        let touched = m.group_id == first.group_id || m.group_id == second.group_id;
        match groups.iter_mut().find(|(id, _)| *id == m.group_id) {
            Some((_, g)) => g.membership_ids.push(membership_id),
            None => groups.push((
                m.group_id,
                NewGroup {
                    membership_ids: vec![membership_id],
                    reason: if touched {
                        "changed by an organiser".to_string()
                    } else {
                        m.reason.clone()
                    },
                    table_label: m.table_label.clone(),
                },
            )),
        }
    }
    let seed = round.seed.parse().unwrap_or_default();
    let groups: Vec<NewGroup> = groups.into_iter().map(|(_, g)| g).collect();
    if !store.replace_draft_groups(round.id, seed, &groups).await? {
        return Err(RoundError::Published);
    }
    view(store, trial, round, now).await
}

async fn draft(store: &Store, trial: &Trial, round_id: i64) -> Result<Round, RoundError> {
    let round = store
        .find_round(round_id)
        .await?
        .filter(|r| r.trial_id == trial.id)
        .ok_or(RoundError::NotFound)?;
    if !round.is_draft() {
        return Err(RoundError::Published);
    }
    Ok(round)
}

/// Gathers a round's members (ordered by group position) into groups.
pub(crate) fn group_views(members: Vec<GroupMember>) -> Vec<GroupView> {
    let mut groups: Vec<GroupView> = Vec::new();
    for m in members {
        match groups.last_mut() {
            Some(g) if g.position == m.position => g.members.push(m),
            _ => groups.push(GroupView {
                position: m.position,
                reason: m.reason.clone(),
                table_label: m.table_label.clone(),
                members: vec![m],
            }),
        }
    }
    groups
}

/// The available people a draft leaves out.
fn unplaced(
    candidates: Vec<Candidate>,
    is_placed: impl Fn(&Candidate) -> bool,
) -> Vec<UnplacedView> {
    candidates
        .into_iter()
        .filter(|c| !is_placed(c))
        .map(|c| UnplacedView {
            public_id: c.public_id,
            why: "could not be placed in this round (alone, or kept apart by exclusions)".into(),
        })
        .collect()
}

/// A round with its groups; for a draft, also the available people left out of it.
pub async fn view(
    store: &Store,
    trial: &Trial,
    round: Round,
    now: DateTime<Utc>,
) -> Result<RoundView, RoundError> {
    let groups = group_views(store.round_members(round.id).await?);
    let mut unplaced = Vec::new();
    if round.is_draft() {
        let placed: HashSet<&str> = groups
            .iter()
            .flat_map(|g| g.members.iter().map(|m| m.public_id.as_str()))
            .collect();
        let candidates = store.round_candidates(trial.id, now).await?;
        unplaced = self::unplaced(candidates, |c| placed.contains(c.public_id.as_str()));
    }
    Ok(RoundView {
        round,
        groups,
        unplaced,
    })
}

/// What publishing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Published {
    /// False when the round had been published before: nothing was done this time.
    pub newly_published: bool,
    pub emails_queued: usize,
}

/// Publishes a draft: one transaction records it and queues one email per person.
pub async fn publish(
    store: &Store,
    trial: &Trial,
    round_id: i64,
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<Published, RoundError> {
    let round = store
        .find_round(round_id)
        .await?
        .filter(|r| r.trial_id == trial.id)
        .ok_or(RoundError::NotFound)?;
    if !round.is_draft() {
        return Ok(Published {
            newly_published: false,
            emails_queued: 0,
        });
    }
    let round_view = view(store, trial, round.clone(), now).await?;
    let mut tx = store.pool().begin().await.map_err(StoreError::from)?;
    if !mark_published(&mut tx, round.id, now).await? {
        return Ok(Published {
            newly_published: false,
            emails_queued: 0,
        });
    }
    let emails_queued = queue_pairing_emails(
        &mut tx,
        trial,
        &round,
        &round_view.groups,
        base_url,
        now,
        PairingEmails {
            feedback_links: round.kind.asks_for_feedback(),
            calendar: true,
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Published {
        newly_published: true,
        emails_queued,
    })
}

/// What goes into the pairing emails besides who and where.
#[derive(Debug, Clone, Copy)]
pub struct PairingEmails {
    /// A "did you meet?" link for the group (not for an event's quick rounds, where the
    /// summary afterwards asks instead).
    pub feedback_links: bool,
    /// A suggested half-hour in the calendar (pointless when the pair is in the room now).
    pub calendar: bool,
}

/// Queues one pairing email per member of `groups` whose address is confirmed, inside the
/// caller's transaction, and returns how many were queued.
pub async fn queue_pairing_emails(
    tx: &mut Transaction<'_, Any>,
    trial: &Trial,
    round: &Round,
    groups: &[GroupView],
    base_url: &url::Url,
    now: DateTime<Utc>,
    options: PairingEmails,
) -> Result<usize, RoundError> {
    let domain = mail::message_domain(base_url);
    let mut emails_queued = 0;
    for group in groups {
        for me in &group.members {
            // No confirmed address (an event sign-up, or erased): no email.
            let Some(address) = me.email.clone() else {
                continue;
            };
            let partners: Vec<&GroupMember> = group
                .members
                .iter()
                .filter(|m| m.membership_id != me.membership_id)
                .collect();
            let links = crate::links::issue_links(tx, me.membership_id, base_url, now).await?;
            let mut context = pairing::context(trial, round, me, &partners, base_url, now);
            context.manage_link = links.manage.clone();
            context.unsubscribe_link = links.unsubscribe.clone();
            if options.feedback_links {
                context.feedback_link = crate::links::issue_feedback_link(
                    tx,
                    me.membership_id,
                    me.group_id,
                    base_url,
                    now,
                )
                .await?;
            }
            let mut email =
                crate::links::with_list_unsubscribe(mail::render(&context, &address)?, &links);
            email.participant_id = Some(me.participant_id);
            email.round_id = Some(round.id);
            if options.calendar {
                email.attachments_json = pairing::ics_attachment(trial, round, me, &partners, now);
            }
            outbox::enqueue(tx, &email, &domain, now).await?;
            emails_queued += 1;
        }
    }
    Ok(emails_queued)
}
