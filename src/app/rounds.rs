//! Rounds: propose groups with the pairing engine, let an organiser reshuffle or swap people,
//! then publish, which records the round for good and queues every pairing email in the same
//! transaction.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};

use crate::domain::{MeetingMode, RoundSettings};
use crate::mail::{self, pairing};
use crate::matching::meet::{self, HowToMeet, Reach, Way, Ways};
use crate::matching::{self, Instance, PastGroup, PastRound, Person};
use crate::store::participants::MemberQuery;
use crate::store::rounds::{mark_published, Candidate, GroupMember, NewGroup, Round};
use crate::store::trials::Trial;
use crate::store::{outbox, round_mail, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    #[error("this round has been published and can no longer be changed")]
    Published,
    #[error("no such round")]
    NotFound,
    #[error("{0}")]
    Invalid(String),
    /// A swap onto someone's do-not-pair list: never done. `field` names the form field.
    #[error("{message}")]
    Refused {
        field: &'static str,
        message: String,
    },
    /// A swap that makes a group that cannot meet, or a repeat: done only when confirmed.
    #[error("{}", .0.join("; "))]
    NeedsConfirmation(Vec<String>),
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
            .filter(|m| m.skip_next_round)
            .count()
    }

    /// Everyone placed in the round.
    pub fn people(&self) -> usize {
        self.groups.iter().map(|g| g.members.len()).sum()
    }

    /// The pairing emails publishing queues: one for each person placed who has a confirmed
    /// address (the rule [`queue_pairing_emails_with`] follows).
    pub fn emails_on_publish(&self) -> usize {
        self.groups
            .iter()
            .flat_map(|g| &g.members)
            .filter(|m| m.email.is_some())
            .count()
    }

    /// Groups whose members share no way to meet.
    pub fn cannot_meet(&self) -> usize {
        self.groups.iter().filter(|g| !g.can_meet()).count()
    }

    /// Groups holding a pair on someone's do-not-pair list.
    pub fn do_not_pair_conflicts(&self) -> usize {
        self.groups
            .iter()
            .filter(|g| !g.do_not_pair_conflicts.is_empty())
            .count()
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupView {
    pub position: i64,
    pub reason: String,
    pub table_label: Option<String>,
    pub members: Vec<GroupMember>,
    /// How the group can meet (the ways all members share, and the site when in person),
    /// or why it cannot, from the members' own answers and the trial's same-site rule.
    pub how_to_meet: HowToMeet,
    /// The same for people: "both on site at Royal Infirmary or video", or the reason.
    pub how_to_meet_label: String,
    /// Pairs in the group that one of them asked never to be paired with, by name.
    pub do_not_pair_conflicts: Vec<String>,
    /// The membership of who makes the first move (chosen when the round is published).
    pub first_mover: Option<i64>,
}

impl GroupView {
    pub fn can_meet(&self) -> bool {
        self.how_to_meet.can_meet()
    }

    pub fn is_first_mover(&self, membership_id: &i64) -> bool {
        self.first_mover == Some(*membership_id)
    }

    pub fn first_mover_name(&self) -> Option<&str> {
        let id = self.first_mover?;
        self.members
            .iter()
            .find(|m| m.membership_id == id)
            .map(|m| m.name.as_str())
    }
}

/// The ways someone can meet, from the stored form (no answer: any way).
pub(crate) fn ways_of(stored_modes: &str) -> Ways {
    let modes = MeetingMode::parse_list(&[stored_modes.to_string()]).unwrap_or_default();
    Ways::from_list(modes.into_iter().map(|m| match m {
        MeetingMode::InPerson => Way::InPerson,
        MeetingMode::Video => Way::Video,
        MeetingMode::Phone => Way::Phone,
    }))
}

fn site_of(site: &str) -> Option<String> {
    Some(site.trim().to_string()).filter(|s| !s.is_empty())
}

/// How these members can meet.
pub fn how_members_meet(members: &[&GroupMember], same_site_only: bool) -> HowToMeet {
    let reaches: Vec<Reach> = members
        .iter()
        .map(|m| Reach {
            ways: ways_of(&m.meeting_modes),
            site: Some(m.site.as_str()),
        })
        .collect();
    meet::how_group_meets(&reaches, same_site_only)
}

/// "both on site at Royal Infirmary or video", "phone", or "cannot meet: ...".
pub fn describe_how(how: &HowToMeet, group_size: usize) -> String {
    match how {
        HowToMeet::Yes { ways, site } => {
            let who = if group_size > 2 { "all" } else { "both" };
            let parts: Vec<String> = ways
                .iter()
                .map(|w| match (w, site) {
                    (Way::InPerson, Some(site)) => format!("in person ({who} on site at {site})"),
                    (Way::InPerson, None) => "in person".to_string(),
                    (Way::Video, _) => "video".to_string(),
                    (Way::Phone, _) => "phone".to_string(),
                })
                .collect();
            match parts.as_slice() {
                [] => String::new(),
                [one] => one.clone(),
                [init @ .., last] => format!("{} or {last}", init.join(", ")),
            }
        }
        HowToMeet::No { reason } => format!("cannot meet: {reason}"),
    }
}

fn group_view(
    position: i64,
    reason: String,
    table_label: Option<String>,
    members: Vec<GroupMember>,
) -> GroupView {
    GroupView {
        position,
        reason,
        table_label,
        members,
        how_to_meet: HowToMeet::No {
            reason: String::new(),
        },
        how_to_meet_label: String::new(),
        do_not_pair_conflicts: Vec::new(),
        first_mover: None,
    }
}

fn set_how(g: &mut GroupView, same_site_only: bool) {
    let members: Vec<&GroupMember> = g.members.iter().collect();
    g.how_to_meet = how_members_meet(&members, same_site_only);
    g.how_to_meet_label = describe_how(&g.how_to_meet, g.members.len());
}

/// Fills in what depends on the trial: its same-site rule, the do-not-pair conflicts, and
/// the first movers of a published round.
async fn annotate(
    store: &Store,
    trial: &Trial,
    round: &Round,
    groups: &mut [GroupView],
) -> Result<(), StoreError> {
    let settings = store.round_settings(trial.id).await?;
    let exclusions: HashSet<(i64, i64)> = store
        .do_not_pair_lists(trial.id)
        .await?
        .into_iter()
        .collect();
    let movers = store.first_movers(round.id).await?;
    for g in groups.iter_mut() {
        set_how(g, settings.same_site_only);
        g.do_not_pair_conflicts = conflicts(&g.members, &exclusions);
        g.first_mover = movers.get(&g.members[0].group_id).copied();
    }
    Ok(())
}

/// The pairs of `members` on either one's do-not-pair list, as "A and B".
fn conflicts(members: &[GroupMember], exclusions: &HashSet<(i64, i64)>) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in members.iter().enumerate() {
        for b in &members[i + 1..] {
            if exclusions.contains(&(a.membership_id, b.membership_id))
                || exclusions.contains(&(b.membership_id, a.membership_id))
            {
                out.push(format!("{} and {}", a.name, b.name));
            }
        }
    }
    out
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
    let details = store.meeting_details(trial.id).await?;
    let settings = store.round_settings(trial.id).await?;
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
            ways: details
                .get(&c.membership_id)
                .map_or(Ways::ANY, |d| ways_of(&d.meeting_modes)),
            site: details.get(&c.membership_id).and_then(|d| site_of(&d.site)),
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
                same_site_only: settings.same_site_only,
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

/// Exchanges two people between their groups in a draft. A swap that would put someone with a
/// person on either one's do-not-pair list is refused; one that makes a group that cannot meet,
/// or a pair that has met before, is done only with `confirm` (otherwise the warnings come back
/// as [`RoundError::NeedsConfirmation`] and nothing changes).
pub async fn swap(
    store: &Store,
    trial: &Trial,
    round_id: i64,
    a: &str,
    b: &str,
    confirm: bool,
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
    // The two groups as they would be after the swap.
    let after = |group_id: i64, leaving: &GroupMember, joining: &GroupMember| -> Vec<GroupMember> {
        members
            .iter()
            .filter(|m| m.group_id == group_id && m.membership_id != leaving.membership_id)
            .cloned()
            .chain(std::iter::once(joining.clone()))
            .collect()
    };
    let new_groups = [
        after(first.group_id, &first, &second),
        after(second.group_id, &second, &first),
    ];
    check_swap(store, trial, &new_groups, confirm).await?;

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

/// Refuses groups that break a do-not-pair list, and without `confirm` asks about groups that
/// cannot meet or repeat a pair.
async fn check_swap(
    store: &Store,
    trial: &Trial,
    new_groups: &[Vec<GroupMember>],
    confirm: bool,
) -> Result<(), RoundError> {
    let exclusions: HashSet<(i64, i64)> = store
        .do_not_pair_lists(trial.id)
        .await?
        .into_iter()
        .collect();
    for g in new_groups {
        if let Some(pair) = conflicts(g, &exclusions).into_iter().next() {
            return Err(RoundError::Refused {
                field: "b",
                message: format!(
                    "this swap would pair {pair}, and one of them asked not to be paired with the other; choose someone else"
                ),
            });
        }
    }
    if confirm {
        return Ok(());
    }
    let settings = store.round_settings(trial.id).await?;
    let met: HashSet<(String, String)> = met_pairs(store, trial).await?;
    let mut warnings = Vec::new();
    for g in new_groups {
        let members: Vec<&GroupMember> = g.iter().collect();
        if let HowToMeet::No { reason } = how_members_meet(&members, settings.same_site_only) {
            let names: Vec<&str> = g.iter().map(|m| m.name.as_str()).collect();
            warnings.push(format!(
                "{} would have no way to meet ({reason})",
                names.join(" and ")
            ));
        }
        for (i, a) in g.iter().enumerate() {
            for b in &g[i + 1..] {
                if met.contains(&ordered(&a.public_id, &b.public_id)) {
                    warnings.push(format!("{} and {} have been paired before", a.name, b.name));
                }
            }
        }
    }
    if warnings.is_empty() {
        Ok(())
    } else {
        Err(RoundError::NeedsConfirmation(warnings))
    }
}

fn ordered(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// Throws a draft away; `false` when the round is no longer a draft.
pub async fn discard_draft(
    store: &Store,
    round_id: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, StoreError> {
    store.delete_draft_round(round_id, now).await
}

/// The trial's round with this number, if there is one.
pub async fn find_by_number(
    store: &Store,
    trial: &Trial,
    number: i64,
) -> Result<Option<Round>, StoreError> {
    store.find_round_by_number(trial.id, number).await
}

/// Every pair that has met in the trial's published rounds (by public id, in order).
async fn met_pairs(store: &Store, trial: &Trial) -> Result<HashSet<(String, String)>, StoreError> {
    let mut by_group: HashMap<i64, Vec<String>> = HashMap::new();
    for row in store.round_history(trial.id).await? {
        if row.met {
            by_group
                .entry(row.group_id)
                .or_default()
                .push(row.public_id);
        }
    }
    let mut pairs = HashSet::new();
    for ids in by_group.values() {
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                pairs.insert(ordered(a, b));
            }
        }
    }
    Ok(pairs)
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
            _ => groups.push(group_view(
                m.position,
                m.reason.clone(),
                m.table_label.clone(),
                vec![m],
            )),
        }
    }
    for g in &mut groups {
        set_how(g, false);
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
    let mut groups = group_views(store.round_members(round.id).await?);
    annotate(store, trial, &round, &mut groups).await?;
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

/// Publishes a draft: one transaction records it and queues one email per person. The
/// invitations name the sender derived from `base_url`; [`publish_from`] names another.
pub async fn publish(
    store: &Store,
    trial: &Trial,
    round_id: i64,
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<Published, RoundError> {
    let organiser = pairing::Organiser::default_for(base_url);
    publish_from(store, trial, round_id, base_url, &organiser, now).await
}

/// [`publish`], with the emails' sender as the organiser of the calendar invitations.
pub async fn publish_from(
    store: &Store,
    trial: &Trial,
    round_id: i64,
    base_url: &url::Url,
    organiser: &pairing::Organiser,
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
    let mut round_view = view(store, trial, round.clone(), now).await?;
    let settings = store.round_settings(trial.id).await?;
    let last_moves = store.last_first_moves(trial.id).await?;
    let seed: u64 = round.seed.parse().unwrap_or_default();
    for g in &mut round_view.groups {
        g.first_mover = choose_first_mover(&g.members, &last_moves, seed);
    }
    let mut tx = store.pool().begin().await.map_err(StoreError::from)?;
    if !mark_published(&mut tx, round.id, now).await? {
        return Ok(Published {
            newly_published: false,
            emails_queued: 0,
        });
    }
    for g in &round_view.groups {
        if let (Some(mover), Some(first)) = (g.first_mover, g.members.first()) {
            round_mail::record_first_mover(&mut tx, first.group_id, mover).await?;
        }
    }
    let emails_queued = queue_pairing_emails_with(
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
        &Invitations {
            settings: &settings,
            organiser,
            offset: seed,
        },
    )
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(Published {
        newly_published: true,
        emails_queued,
    })
}

/// Who makes the first move: among members with an address, the one whose last first move is
/// oldest (never counts as oldest), so nobody is named twice in a row when the group allows;
/// ties are broken by the round's seed.
pub fn choose_first_mover(
    members: &[GroupMember],
    last_moves: &HashMap<i64, i64>,
    seed: u64,
) -> Option<i64> {
    let pool: Vec<&GroupMember> = if members.iter().any(|m| m.email.is_some()) {
        members.iter().filter(|m| m.email.is_some()).collect()
    } else {
        members.iter().collect()
    };
    pool.into_iter()
        .min_by_key(|m| {
            let mixed = (m.membership_id as u64 ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (
                last_moves
                    .get(&m.membership_id)
                    .copied()
                    .unwrap_or(i64::MIN),
                mixed,
            )
        })
        .map(|m| m.membership_id)
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

/// How calendar invitations are made: when (the trial's working days and hours), from whom.
pub struct Invitations<'a> {
    pub settings: &'a RoundSettings,
    pub organiser: &'a pairing::Organiser,
    /// Shifts the spread of suggested times (the round's seed).
    pub offset: u64,
}

/// Queues one pairing email per member of `groups` whose address is confirmed, inside the
/// caller's transaction, and returns how many were queued. Calendar files, when asked for,
/// follow the default settings; [`queue_pairing_emails_with`] takes the trial's.
pub async fn queue_pairing_emails(
    tx: &mut Transaction<'_, Any>,
    trial: &Trial,
    round: &Round,
    groups: &[GroupView],
    base_url: &url::Url,
    now: DateTime<Utc>,
    options: PairingEmails,
) -> Result<usize, RoundError> {
    let settings = RoundSettings::default();
    let organiser = pairing::Organiser::default_for(base_url);
    let invitations = Invitations {
        settings: &settings,
        organiser: &organiser,
        offset: round.seed.parse().unwrap_or_default(),
    };
    queue_pairing_emails_with(
        tx,
        trial,
        round,
        groups,
        base_url,
        now,
        options,
        &invitations,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
pub async fn queue_pairing_emails_with(
    tx: &mut Transaction<'_, Any>,
    trial: &Trial,
    round: &Round,
    groups: &[GroupView],
    base_url: &url::Url,
    now: DateTime<Utc>,
    options: PairingEmails,
    invitations: &Invitations<'_>,
) -> Result<usize, RoundError> {
    let domain = mail::message_domain(base_url);
    let slots = if options.calendar {
        pairing::spread_slots(
            &trial.time_zone,
            invitations.settings,
            now,
            groups.len(),
            invitations.offset,
        )
    } else {
        Vec::new()
    };
    let mut emails_queued = 0;
    for (index, group) in groups.iter().enumerate() {
        let slot = slots.get(index);
        let facts = pairing::GroupFacts {
            how_to_meet: group.how_to_meet_label.clone(),
            can_meet: group.can_meet(),
            first_mover: group.first_mover,
            slot_label: slot.map(|s| s.local_label.clone()).unwrap_or_default(),
        };
        let ics =
            slot.map(|slot| group_invitation(trial, round, group, slot, invitations, &domain, now));
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
            let mut context = pairing::context(trial, round, me, &partners, &facts, base_url);
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
            if let Some(ics) = &ics {
                email.attachments_json = pairing::ics_attachment(ics);
            }
            outbox::enqueue(tx, &email, &domain, now).await?;
            emails_queued += 1;
        }
    }
    Ok(emails_queued)
}

/// The one invitation every member of the group receives.
fn group_invitation(
    trial: &Trial,
    round: &Round,
    group: &GroupView,
    slot: &pairing::Slot,
    invitations: &Invitations<'_>,
    domain: &str,
    now: DateTime<Utc>,
) -> String {
    let names: Vec<&str> = group.members.iter().map(|m| m.name.as_str()).collect();
    let group_id = group.members.first().map_or(0, |m| m.group_id);
    let location = match &group.how_to_meet {
        HowToMeet::Yes {
            ways,
            site: Some(site),
        } if ways.first() == Some(&Way::InPerson) => Some(site.clone()),
        _ => None,
    };
    let mut description = format!(
        "{}, round {}: a suggested half-hour for {}. Move it to whatever suits you all.",
        trial.name,
        round.number,
        names.join(", ")
    );
    if group.can_meet() {
        description.push_str(&format!("\nHow you can meet: {}.", group.how_to_meet_label));
    }
    if let Some(mover) = group.first_mover_name() {
        description.push_str(&format!("\nFirst move this round: {mover}."));
    }
    pairing::ics_invitation(&pairing::Invitation {
        uid: format!("coffee-round-{}-group-{group_id}@{domain}", round.id),
        slot,
        organiser: invitations.organiser,
        attendees: group
            .members
            .iter()
            .filter_map(|m| m.email.as_deref().map(|e| (m.name.as_str(), e)))
            .collect(),
        summary: format!("Coffee: {}", names.join(", ")),
        description,
        location,
        now,
    })
}
