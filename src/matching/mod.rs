//! The pairing engine for Randomised Coffee Trials.
//!
//! Layer: pure, beside `domain`. May import `domain` only; `app` (rounds, events) calls it, and
//! it never touches the store, the clock or the network.
//!
//! [`pair`] is pure: it takes this round's participants, the past rounds and the
//! trial's rules, and returns the groups. It does no I/O, reads no clock, and
//! draws randomness only from a ChaCha RNG seeded with the `seed` argument, so a
//! round can be replayed exactly from its inputs and [`Outcome::seed`].
//!
//! # What the engine decides, in priority order
//!
//! 1. Everyone is placed exactly once: pairs, plus one group of three when the
//!    count is odd. A single participant is reported in [`Outcome::unplaced`].
//! 2. Hard exclusions (a person's `do_not_pair` list, either direction, and the
//!    shared `never_together` attribute) are never broken. People who cannot be
//!    placed because of them are listed in [`Outcome::unplaced`] with a reason.
//! 3. Everyone can meet: no pair that cannot meet (see [`meet`]: no shared way
//!    other than in person, and not on one site) while a grouping exists in
//!    which everyone can; otherwise as few such pairs as possible. Each
//!    [`Group::how`] says how the group can meet, or why it cannot.
//! 4. Fewest repeated pairs (a pair inside a group of three counts as a pair);
//!    among repeats, those that met longest ago. Meetings recorded with
//!    `met: false` do not count.
//! 5. The group of three goes to people who have not been in one recently
//!    (derived from groups of three or more in the history), so nobody is in it
//!    twice before everyone has been once, where the history allows.
//! 6. Most pairs whose `group` attribute differs.
//! 7. Ties are broken at random (by the seed).
//!
//! # Exactness
//!
//! The core is Edmonds' blossom algorithm on the graph of allowed, never-met
//! pairs who can meet, held implicitly (only the sparse "met" and "excluded"
//! lists are stored), so memory stays linear in N plus the history size. It is
//! then grown over all allowed pairs who can meet (repeats permitted), so the
//! number of pairs that cannot meet is the true minimum (N/2 minus the maximum
//! matching of that graph), barring hard exclusions that force a re-arrangement.
//!
//! * Even N: the number of repeats equals the true minimum, N/2 − ν where ν is
//!   the maximum number of disjoint never-met allowed pairs; in particular a
//!   repeat-free grouping is always found when one exists. The one exception is
//!   when hard exclusions stop the left-over people from being paired among
//!   themselves; the engine then still finds a valid grouping, and the result
//!   says whether it is proven minimal ([`Stats::proven_optimal`]).
//! * Odd N: the minimum is at least (N−1)/2 − ν ([`Stats::lower_bound`]). The
//!   engine first tries to reach that bound directly, then (for N ≤ 2048 and
//!   within a work budget) searches every never-met trio shape exactly.
//!   `proven_optimal` tells whether the result is known to be minimal.
//! * For N ≤ 16 any result not already proven is replaced by an exhaustive
//!   search, so small rounds are always exact.
//! * Recency among forced repeats is optimised heuristically (greedy choice plus
//!   pair-swap improvement), never at the cost of an extra repeat.
//! * Cross-group pairs: among the people whose pairs are never-met and can
//!   meet, a maximum-weight matching (weight 2 across groups, 1 within, maximum
//!   cardinality) re-pairs them for the most cross-group pairs. For rounds of up
//!   to 2,048 people whose candidate pairs fit its budget (tight histories, and
//!   everything small) this is the exact optimum; above the budget it works on
//!   the current pairs plus a sample of cross-group pairs, never worse.
//! * Stable cohorts: when the history is a run of perfect pairings of exactly
//!   today's (even-sized) cohort, the engine extends a round-robin schedule that
//!   contains those rounds, so the cohort gets N−1 repeat-free rounds.
//!
//! # Groups of three
//!
//! With [`Rules::group_size`] 3 everyone is placed in groups of three, except
//! that one pair is formed when N leaves a remainder of 2 and two pairs when it
//! leaves 1 (four people make two pairs; one person is unplaced). Rules 2 to 5
//! apply as above, counting each pair inside a group. There is no exact core
//! here (grouping into threes is NP-hard): a seeded randomised greedy start, then
//! member swaps between groups while the total strictly improves, with restarts
//! on small rounds, and an exhaustive search up to 15 people.
//! [`Stats::lower_bound`] is a proven bound (from how many never-met companions
//! each person has left), so "no repeat-free option found" is only said when no
//! repeat-free grouping exists; [`Stats::proven_optimal`] when the result meets it.

mod blossom;
mod engine;
pub mod format;
mod index;
pub mod meet;
#[cfg(test)]
mod meet_tests;
mod roundrobin;
#[cfg(test)]
mod tests;
mod triads;
mod weighted;

use serde::Serialize;

/// One round to pair.
#[derive(Debug, Clone, Default)]
pub struct Instance {
    /// The people available this round. Order carries no meaning.
    pub participants: Vec<Person>,
    /// Past rounds, oldest first.
    pub history: Vec<PastRound>,
    pub rules: Rules,
}

/// A participant of this round.
#[derive(Debug, Clone, Default)]
pub struct Person {
    /// Non-empty and unique within the round.
    pub id: String,
    /// The trial's grouping attribute (department, discipline, site).
    pub group: Option<String>,
    /// People sharing this value are never grouped together (e.g. the same team).
    pub never_together: Option<String>,
    /// Ids this person must never be grouped with. Unknown ids are ignored.
    pub do_not_pair: Vec<String>,
    /// How they can meet ([`meet::Ways::ANY`] when they did not say).
    pub ways: meet::Ways,
    /// Where they can meet in person; `None` means anywhere.
    pub site: Option<String>,
}

/// One past round.
#[derive(Debug, Clone, Default)]
pub struct PastRound {
    pub groups: Vec<PastGroup>,
}

/// One group of a past round.
#[derive(Debug, Clone)]
pub struct PastGroup {
    pub members: Vec<String>,
    /// `false` records a meeting that did not happen; it does not count as having met.
    pub met: bool,
}

/// The trial's rules.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Prefer pairs whose `group` differs (rule 4). On by default.
    pub prefer_cross_group: bool,
    /// 2 (the default) forms pairs; 3 forms groups of three (see the module documentation).
    /// Any other value is treated as 2.
    pub group_size: usize,
    /// In person only counts for two people who named the same site.
    pub same_site_only: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            prefer_cross_group: true,
            group_size: 2,
            same_site_only: false,
        }
    }
}

/// The result of one pairing.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The seed that produced this result: `pair(instance, seed)` reproduces it.
    pub seed: u64,
    pub groups: Vec<Group>,
    /// People who could not be placed, with the reason.
    pub unplaced: Vec<Unplaced>,
    pub stats: Stats,
}

/// One group of two or three people.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub members: Vec<String>,
    /// How many of the group's pairs have met before.
    pub repeats: u32,
    /// A short explanation for organisers, e.g. "never met; Nursing and Estates".
    pub reason: String,
    /// How the group can meet (shared ways, and the site for in person), or
    /// why it cannot, from the members' [`Person::ways`] and [`Person::site`].
    pub how: meet::HowToMeet,
}

/// Someone who could not be placed this round.
#[derive(Debug, Clone, Serialize)]
pub struct Unplaced {
    pub id: String,
    pub why: String,
}

/// Summary figures of an [`Outcome`].
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Pairs formed; a group of three counts as three pairs.
    pub pairs: u32,
    /// Pairs that have met before.
    pub repeats: u32,
    /// Pairs whose `group` attributes differ.
    pub cross_group_pairs: u32,
    /// Pairs whose two people cannot meet (no shared way; see [`meet`]).
    pub cant_meet_pairs: u32,
    /// No valid grouping of everyone placed with as few pairs that cannot meet
    /// has fewer repeats than this.
    pub lower_bound: u32,
    /// `repeats` is known to be the minimum possible.
    pub proven_optimal: bool,
    /// Which path produced the grouping ("round-robin", "matching", "exhaustive",
    /// "groups-of-three").
    pub method: &'static str,
}

/// Pairs the participants of `instance`; see the module documentation for the
/// rules and guarantees. The same instance and seed always give the same outcome.
pub fn pair(instance: &Instance, seed: u64) -> Outcome {
    if instance.rules.group_size == 3 {
        triads::run(instance, seed)
    } else {
        engine::run(instance, seed)
    }
}
