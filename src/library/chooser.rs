//! The technique chooser: "what are you about to do?".
//!
//! Given the phase of the work, the time available and the number of people,
//! [`suggest`] ranks the techniques that fit, each with a plain-English reason.
//! When nothing fits it returns the nearest few instead, with reasons saying
//! what does not fit, so the answer is never empty for a non-empty library.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::PHASE_HEADINGS;

/// Where in the life of a piece of work a technique is used.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Before,
    During,
    After,
}

impl Phase {
    /// All phases, in the order of the learning cycle.
    pub const ALL: [Phase; 3] = [Phase::Before, Phase::During, Phase::After];

    /// Parses the stored form (`before`, `during`, `after`), ignoring case and
    /// surrounding whitespace.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }

    /// The stored form, as used in the `techniques.phase` column and in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Before => "before",
            Phase::During => "during",
            Phase::After => "after",
        }
    }

    /// A short display label, e.g. "Learning before". Also used by `Display`.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Before => "Learning before",
            Phase::During => "Learning during",
            Phase::After => "Learning after",
        }
    }

    /// The heading line for this phase on the /techniques page.
    pub fn heading(self) -> &'static str {
        PHASE_HEADINGS[self.index()].1
    }

    /// The moment in a piece of work this phase refers to, for use in
    /// sentences: "for the start of a piece of work".
    pub fn moment(self) -> &'static str {
        match self {
            Phase::Before => "the start of a piece of work",
            Phase::During => "work that is under way",
            Phase::After => "the end of a piece of work",
        }
    }

    fn index(self) -> usize {
        match self {
            Phase::Before => 0,
            Phase::During => 1,
            Phase::After => 2,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What the person is about to do. Every field is optional; a missing field
/// does not filter anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChooserQuery {
    pub phase: Option<Phase>,
    pub minutes_available: Option<u32>,
    pub people: Option<u32>,
}

/// The facts about a technique the chooser needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TechniqueFacts {
    pub slug: String,
    pub name: String,
    pub phase: Phase,
    pub duration_min_minutes: u32,
    pub duration_max_minutes: u32,
    pub people_min: u32,
    /// `None` means no upper limit.
    pub people_max: Option<u32>,
}

/// One suggested technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub slug: String,
    pub name: String,
    /// Why it was suggested, in plain English, e.g. "for the start of a piece
    /// of work; fits in 1 hour; works with 8 people". For a near miss it says
    /// what does not fit.
    pub reason: String,
    /// `true` when the technique meets every part of the query; `false` for
    /// the nearest options offered when nothing fits.
    pub fits: bool,
}

/// How many near misses to offer when nothing fits.
pub const NEAREST_LIMIT: usize = 3;

/// The cost of a wrong phase, on the same scale as a time or group-size
/// shortfall (where 1000 means "missing all of it").
const PHASE_MISS_COST: u64 = 1000;

/// Ranks `techniques` for `query`.
///
/// Techniques that fit every given constraint come first, ordered by how well
/// they use the time available (those whose usual length includes it first,
/// then those leaving the least time spare), then by phase and by their order
/// in `techniques` (pass them in phase/position order). If none fits, the
/// [`NEAREST_LIMIT`] nearest misses are returned instead, with `fits: false`.
pub fn suggest(query: &ChooserQuery, techniques: &[TechniqueFacts]) -> Vec<Suggestion> {
    let mut assessed: Vec<Assessment<'_>> = techniques
        .iter()
        .enumerate()
        .map(|(index, t)| assess(query, t, index))
        .collect();

    let any_fit = assessed.iter().any(|a| a.miss_cost == 0);
    if any_fit {
        assessed.retain(|a| a.miss_cost == 0);
    }
    assessed.sort_by_key(|a| (a.miss_cost, a.time_distance, a.technique.phase, a.index));
    if !any_fit {
        assessed.truncate(NEAREST_LIMIT);
    }

    assessed
        .into_iter()
        .map(|a| Suggestion {
            slug: a.technique.slug.clone(),
            name: a.technique.name.clone(),
            reason: a.reasons.join("; "),
            fits: a.miss_cost == 0,
        })
        .collect()
}

struct Assessment<'a> {
    technique: &'a TechniqueFacts,
    index: usize,
    /// 0 when everything fits; otherwise larger means further off.
    miss_cost: u64,
    /// Minutes between the time available and the technique's usual length
    /// (0 when the usual range includes it).
    time_distance: u64,
    reasons: Vec<String>,
}

fn assess<'a>(query: &ChooserQuery, t: &'a TechniqueFacts, index: usize) -> Assessment<'a> {
    let mut miss_cost = 0;
    let mut time_distance = 0;
    let mut reasons = Vec::with_capacity(3);

    // Phase.
    match query.phase {
        Some(wanted) if wanted != t.phase => {
            miss_cost += PHASE_MISS_COST;
            reasons.push(format!(
                "for {} rather than {}",
                t.phase.moment(),
                wanted.moment()
            ));
        }
        _ => reasons.push(format!("for {}", t.phase.moment())),
    }

    // Time.
    let lo = t.duration_min_minutes;
    let hi = t.duration_max_minutes.max(lo);
    match query.minutes_available {
        None => reasons.push(format!("takes {}", minutes_range(lo, hi))),
        Some(m) if m < lo => {
            miss_cost += shortfall_cost(lo - m, lo);
            time_distance = u64::from(lo - m);
            reasons.push(format!(
                "needs at least {} (you have {})",
                minutes(lo),
                minutes(m)
            ));
        }
        Some(m) if m < hi => reasons.push(format!(
            "fits in {} (can run to {})",
            minutes(m),
            minutes(hi)
        )),
        Some(m) if m == hi => reasons.push(format!("fits in {}", minutes(m))),
        Some(m) => {
            time_distance = u64::from(m - hi);
            reasons.push(format!(
                "fits in {} with time to spare (takes {})",
                minutes(m),
                minutes_range(lo, hi)
            ));
        }
    }

    // Group size.
    let p_lo = t.people_min;
    let p_hi = t.people_max.map(|max| max.max(p_lo));
    match query.people {
        None => reasons.push(people_range(p_lo, p_hi)),
        Some(n) if n < p_lo => {
            miss_cost += shortfall_cost(p_lo - n, p_lo);
            reasons.push(format!(
                "needs at least {} (you have {})",
                people(p_lo),
                people(n)
            ));
        }
        Some(n) => match p_hi {
            Some(max) if n > max => {
                miss_cost += shortfall_cost(n - max, n);
                reasons.push(format!(
                    "works best with up to {} (you have {})",
                    people(max),
                    people(n)
                ));
            }
            _ if n == 1 => reasons.push("works for 1 person".to_string()),
            _ => reasons.push(format!("works with {}", people(n))),
        },
    }

    Assessment {
        technique: t,
        index,
        miss_cost,
        time_distance,
        reasons,
    }
}

/// `gap` as a share of `whole`, in thousandths, rounded up so that any miss
/// costs at least 1.
fn shortfall_cost(gap: u32, whole: u32) -> u64 {
    (u64::from(gap) * 1000)
        .div_ceil(u64::from(whole.max(1)))
        .clamp(1, 1000)
}

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn people(n: u32) -> String {
    plural(n, "person", "people")
}

/// "45 minutes", "1 hour", "1.5 hours", "1 hour and 15 minutes".
fn minutes(m: u32) -> String {
    if m < 60 {
        plural(m, "minute", "minutes")
    } else if m % 60 == 0 {
        plural(m / 60, "hour", "hours")
    } else if m % 30 == 0 {
        format!("{}.5 hours", m / 60)
    } else {
        format!(
            "{} and {}",
            plural(m / 60, "hour", "hours"),
            plural(m % 60, "minute", "minutes")
        )
    }
}

/// Whole or half hours as a bare number: 60 -> "1", 90 -> "1.5".
fn hours_number(m: u32) -> String {
    if m % 60 == 0 {
        (m / 60).to_string()
    } else {
        format!("{}.5", m / 60)
    }
}

/// "about 30 minutes", "10 to 15 minutes", "1 to 2 hours", "15 minutes to 1 hour".
fn minutes_range(lo: u32, hi: u32) -> String {
    if lo == hi {
        format!("about {}", minutes(lo))
    } else if hi < 60 {
        format!("{lo} to {hi} minutes")
    } else if lo >= 60 && lo % 30 == 0 && hi % 30 == 0 {
        format!("{} to {} hours", hours_number(lo), hours_number(hi))
    } else {
        format!("{} to {}", minutes(lo), minutes(hi))
    }
}

fn people_range(lo: u32, hi: Option<u32>) -> String {
    match hi {
        None if lo <= 1 => "works with any number of people".to_string(),
        None => format!("works with {lo} or more people"),
        Some(hi) if hi == lo => format!("works with {}", people(lo)),
        Some(hi) => format!("works with {lo} to {hi} people"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(
        slug: &str,
        phase: Phase,
        minutes: (u32, u32),
        people: (u32, Option<u32>),
    ) -> TechniqueFacts {
        TechniqueFacts {
            slug: slug.to_string(),
            name: slug.replace('-', " "),
            phase,
            duration_min_minutes: minutes.0,
            duration_max_minutes: minutes.1,
            people_min: people.0,
            people_max: people.1,
        }
    }

    /// A small library, listed in phase/position order as the database
    /// would return it.
    fn fixture() -> Vec<TechniqueFacts> {
        use Phase::*;
        vec![
            facts("bar", Before, (15, 60), (2, Some(15))),
            facts("peer-assist", Before, (180, 240), (5, Some(20))),
            facts("aar", During, (10, 60), (2, Some(15))),
            facts("rct", During, (30, 30), (2, None)),
            facts("cafe", During, (60, 120), (8, Some(50))),
            facts("retrospect", After, (60, 180), (3, Some(20))),
            facts("leavers", After, (30, 120), (1, Some(10))),
        ]
    }

    fn q(phase: Option<Phase>, minutes: Option<u32>, people: Option<u32>) -> ChooserQuery {
        ChooserQuery {
            phase,
            minutes_available: minutes,
            people,
        }
    }

    #[test]
    fn ranking_table() {
        use Phase::*;
        // (query, expected slugs in order, whether they fit)
        let cases: Vec<(ChooserQuery, Vec<&str>, bool)> = vec![
            // No constraints: everything, in phase/position order.
            (
                q(None, None, None),
                vec![
                    "bar",
                    "peer-assist",
                    "aar",
                    "rct",
                    "cafe",
                    "retrospect",
                    "leavers",
                ],
                true,
            ),
            // Phase only.
            (
                q(Some(Before), None, None),
                vec!["bar", "peer-assist"],
                true,
            ),
            (
                q(Some(During), None, None),
                vec!["aar", "rct", "cafe"],
                true,
            ),
            (
                q(Some(After), None, None),
                vec!["retrospect", "leavers"],
                true,
            ),
            // Time: usual range containing the time first, then least spare.
            (q(Some(During), Some(30), None), vec!["aar", "rct"], true),
            (
                q(Some(During), Some(60), None),
                vec!["aar", "cafe", "rct"],
                true,
            ),
            (
                q(Some(During), Some(120), None),
                vec!["cafe", "aar", "rct"],
                true,
            ),
            (
                q(None, Some(60), Some(4)),
                vec!["bar", "aar", "retrospect", "leavers", "rct"],
                true,
            ),
            (
                q(Some(Before), Some(240), Some(8)),
                vec!["peer-assist", "bar"],
                true,
            ),
            // Group size.
            (
                q(Some(During), None, Some(1)),
                vec!["aar", "rct", "cafe"],
                false,
            ),
            (q(Some(After), None, Some(1)), vec!["leavers"], true),
            (q(Some(During), None, Some(40)), vec!["rct", "cafe"], true),
            (q(None, None, Some(500)), vec!["rct"], true),
            (q(Some(During), Some(45), Some(30)), vec!["rct"], true),
            // Nothing fits: the nearest few, in-phase near misses first.
            (
                q(Some(Before), Some(10), None),
                vec!["bar", "peer-assist", "aar"],
                false,
            ),
            (
                q(Some(Before), Some(120), Some(30)),
                vec!["bar", "peer-assist", "cafe"],
                false,
            ),
            (
                q(Some(After), Some(5), Some(1)),
                vec!["leavers", "retrospect", "aar"],
                false,
            ),
        ];

        for (query, expected, expected_fit) in cases {
            let got = suggest(&query, &fixture());
            let slugs: Vec<&str> = got.iter().map(|s| s.slug.as_str()).collect();
            assert_eq!(slugs, expected, "query {query:?}");
            assert!(
                got.iter().all(|s| s.fits == expected_fit),
                "query {query:?}: fits flags {got:?}"
            );
            for s in &got {
                assert!(!s.reason.is_empty());
                assert_eq!(s.name, s.slug.replace('-', " "));
            }
        }
    }

    #[test]
    fn reasons_for_fits_read_naturally() {
        let lib = fixture();
        let got = suggest(&q(Some(Phase::Before), Some(60), Some(8)), &lib);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].reason,
            "for the start of a piece of work; fits in 1 hour; works with 8 people"
        );

        let got = suggest(&q(Some(Phase::During), Some(45), Some(1)), &lib[2..3]);
        assert_eq!(
            got[0].reason,
            "for work that is under way; fits in 45 minutes (can run to 1 hour); needs at least 2 people (you have 1 person)"
        );
        assert!(!got[0].fits);

        let got = suggest(&q(None, Some(90), Some(2)), &lib[3..4]);
        assert_eq!(
            got[0].reason,
            "for work that is under way; fits in 1.5 hours with time to spare (takes about 30 minutes); works with 2 people"
        );

        let got = suggest(&q(Some(Phase::After), Some(60), Some(1)), &lib[6..7]);
        assert_eq!(
            got[0].reason,
            "for the end of a piece of work; fits in 1 hour (can run to 2 hours); works for 1 person"
        );
    }

    #[test]
    fn reasons_without_a_query_describe_the_technique() {
        let lib = fixture();
        let got = suggest(&ChooserQuery::default(), &lib);
        let reasons: Vec<&str> = got.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "for the start of a piece of work; takes 15 minutes to 1 hour; works with 2 to 15 people",
                "for the start of a piece of work; takes 3 to 4 hours; works with 5 to 20 people",
                "for work that is under way; takes 10 minutes to 1 hour; works with 2 to 15 people",
                "for work that is under way; takes about 30 minutes; works with 2 or more people",
                "for work that is under way; takes 1 to 2 hours; works with 8 to 50 people",
                "for the end of a piece of work; takes 1 to 3 hours; works with 3 to 20 people",
                "for the end of a piece of work; takes 30 minutes to 2 hours; works with 1 to 10 people",
            ]
        );
    }

    #[test]
    fn near_misses_say_what_does_not_fit() {
        let lib = fixture();
        let got = suggest(&q(Some(Phase::Before), Some(10), Some(40)), &lib);
        assert!(got.iter().all(|s| !s.fits));
        assert_eq!(got.len(), NEAREST_LIMIT);
        assert_eq!(got[0].slug, "bar");
        assert_eq!(
            got[0].reason,
            "for the start of a piece of work; needs at least 15 minutes (you have 10 minutes); works best with up to 15 people (you have 40 people)"
        );
        assert_eq!(got[1].slug, "peer-assist");
        let phase_miss = got
            .iter()
            .find(|s| s.reason.contains("rather than"))
            .expect("an out-of-phase option");
        assert!(
            phase_miss
                .reason
                .starts_with("for work that is under way rather than the start of a piece of work"),
            "{}",
            phase_miss.reason
        );
    }

    #[test]
    fn never_empty_for_a_non_empty_library() {
        let lib = fixture();
        for phase in [
            None,
            Some(Phase::Before),
            Some(Phase::During),
            Some(Phase::After),
        ] {
            for minutes in [
                None,
                Some(0),
                Some(1),
                Some(29),
                Some(30),
                Some(600),
                Some(u32::MAX),
            ] {
                for people in [None, Some(0), Some(1), Some(2), Some(16), Some(u32::MAX)] {
                    let query = q(phase, minutes, people);
                    let got = suggest(&query, &lib);
                    assert!(!got.is_empty(), "{query:?}");
                    assert!(got.len() <= lib.len());
                    if !got[0].fits {
                        assert!(got.len() <= NEAREST_LIMIT);
                    }
                }
            }
        }
        assert!(suggest(&ChooserQuery::default(), &[]).is_empty());
    }

    #[test]
    fn tolerates_inconsistent_facts() {
        // max below min is treated as min; zero minimums do not divide by zero.
        let odd = vec![
            facts("odd", Phase::During, (40, 20), (6, Some(3))),
            facts("zero", Phase::During, (0, 0), (0, Some(0))),
        ];
        let got = suggest(&q(Some(Phase::During), Some(40), Some(6)), &odd);
        assert_eq!(got[0].slug, "odd");
        assert!(got[0].fits);
        let got = suggest(&q(Some(Phase::During), Some(10), Some(7)), &odd);
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|s| !s.fits));
    }

    #[test]
    fn phase_parse_and_labels() {
        for phase in Phase::ALL {
            assert_eq!(Phase::parse(phase.as_str()), Some(phase));
            assert_eq!(Phase::parse(&phase.as_str().to_uppercase()), Some(phase));
            assert_eq!(phase.to_string(), phase.label());
        }
        assert_eq!(Phase::parse(" During "), Some(Phase::During));
        assert_eq!(Phase::parse(""), None);
        assert_eq!(Phase::parse("beforehand"), None);
        assert_eq!(Phase::Before.label(), "Learning before");
        assert_eq!(serde_json::to_string(&Phase::After).unwrap(), "\"after\"");
        assert_eq!(
            serde_json::from_str::<Phase>("\"during\"").unwrap(),
            Phase::During
        );
    }

    #[test]
    fn formats_durations() {
        assert_eq!(minutes(1), "1 minute");
        assert_eq!(minutes(45), "45 minutes");
        assert_eq!(minutes(60), "1 hour");
        assert_eq!(minutes(90), "1.5 hours");
        assert_eq!(minutes(75), "1 hour and 15 minutes");
        assert_eq!(minutes(480), "8 hours");
        assert_eq!(minutes_range(30, 30), "about 30 minutes");
        assert_eq!(minutes_range(10, 15), "10 to 15 minutes");
        assert_eq!(minutes_range(60, 90), "1 to 1.5 hours");
        assert_eq!(minutes_range(45, 90), "45 minutes to 1.5 hours");
        assert_eq!(minutes_range(60, 75), "1 hour to 1 hour and 15 minutes");
        assert_eq!(people_range(1, None), "works with any number of people");
        assert_eq!(people_range(2, Some(2)), "works with 2 people");
    }
}
