//! The numbers on a trial's dashboard and the SVG charts that show them.
//!
//! Pure: the store hands over a trial's history ([`History`]), [`compute`] turns it into
//! [`Stats`], and the chart builders turn those into SVG text. Nothing here reads a clock or
//! touches the database, so every figure can be checked by hand in a unit test.
//!
//! How things are counted (the dashboard says the same in words):
//! - A group **met** when at least one member answered "we met" or "some of us met"; it **did
//!   not meet** when members answered but nobody said so; with no answer at all it is
//!   **unknown**, which is not the same as not having met. The share of groups that met is
//!   taken over the groups that answered.
//! - A **connection** is a pair of people who met; a pair that met in two rounds is one
//!   connection. A group that met makes all its pairs, except a group of three in which nobody
//!   said "we met": then only the pairs that a "some of us met" answer names count.
//! - A connection is **across** the grouping attribute when the two people's values differ.
//! - The **average rating** is over the answers that say a meeting happened.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::domain::GroupMeeting;
pub use crate::domain::Outcome;

/// How many people of the trial are in each state that matters on the dashboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct People {
    pub active: i64,
    pub paused: i64,
    /// Signed up, not yet confirmed.
    pub pending: i64,
}

/// One person in one group of a published round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub round: i64,
    pub group_id: i64,
    pub membership_id: i64,
    pub attribute_value: String,
}

/// One member's answer about one group.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub round: i64,
    pub group_id: i64,
    pub membership_id: i64,
    pub outcome: Option<Outcome>,
    pub rating: Option<i64>,
    /// The note, which the store only hands over when the person agreed to share it.
    pub takeaway: String,
    pub share_consent: bool,
}

/// Everything the dashboard is computed from.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// The trial's list of values for the grouping attribute, in the organiser's order
    /// (empty when people type their own).
    pub attribute_values: Vec<String>,
    pub people: People,
    /// Numbers of the published rounds, oldest first.
    pub published_rounds: Vec<i64>,
    pub draft_rounds: i64,
    pub placements: Vec<Placement>,
    pub answers: Vec<Answer>,
    /// The pairs named by "some of us met" answers: (group, membership, membership).
    pub met_pairs: Vec<(i64, i64, i64)>,
}

/// What happened in one published round.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundStats {
    pub number: i64,
    pub groups: i64,
    pub met: i64,
    pub did_not_meet: i64,
    pub unknown: i64,
    pub ratings: i64,
    pub rating_sum: i64,
}

impl RoundStats {
    /// Groups that answered at all.
    pub fn answered(&self) -> i64 {
        self.met + self.did_not_meet
    }

    /// The share of the groups that answered which met; None when no group answered.
    pub fn met_share(&self) -> Option<f64> {
        share(self.met, self.answered())
    }

    pub fn average_rating(&self) -> Option<f64> {
        share(self.rating_sum, self.ratings)
    }
}

/// Connections counted by the two people's attribute values: `counts[i][j]` is the number of
/// connections between someone with `values[i]` and someone with `values[j]` (symmetric).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Heatmap {
    pub values: Vec<String>,
    pub counts: Vec<Vec<i64>>,
}

impl Heatmap {
    pub fn count(&self, a: &str, b: &str) -> Option<i64> {
        let i = self.values.iter().position(|v| v == a)?;
        let j = self.values.iter().position(|v| v == b)?;
        Some(self.counts[i][j])
    }

    fn max(&self) -> i64 {
        self.counts.iter().flatten().copied().max().unwrap_or(0)
    }
}

/// A note someone agreed to share, without their name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Takeaway {
    pub round: i64,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub people: People,
    pub draft_rounds: i64,
    /// One per published round, oldest first.
    pub rounds: Vec<RoundStats>,
    pub ratings: i64,
    pub rating_sum: i64,
    pub connections: i64,
    pub cross_connections: i64,
    pub heatmap: Heatmap,
    /// Newest round first.
    pub takeaways: Vec<Takeaway>,
}

impl Stats {
    pub fn average_rating(&self) -> Option<f64> {
        share(self.rating_sum, self.ratings)
    }

    pub fn cross_share(&self) -> Option<f64> {
        share(self.cross_connections, self.connections)
    }

    /// Groups over all published rounds, and how they went.
    pub fn totals(&self) -> RoundStats {
        let mut t = RoundStats::default();
        for r in &self.rounds {
            t.groups += r.groups;
            t.met += r.met;
            t.did_not_meet += r.did_not_meet;
            t.unknown += r.unknown;
            t.ratings += r.ratings;
            t.rating_sum += r.rating_sum;
        }
        t
    }
}

/// `part / whole`, or None for an empty whole (so nothing divides by zero).
fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// A share as a whole percentage, e.g. "67%"; halves round up (5 of 8 is "63%").
pub fn percent(share: f64) -> String {
    format!("{}%", (share * 100.0).round() as i64)
}

/// A rating average with one decimal, e.g. "3.8".
pub fn one_decimal(value: f64) -> String {
    format!("{value:.1}")
}

#[derive(Default)]
struct GroupFacts {
    members: Vec<i64>,
    answers: Vec<Outcome>,
}

/// One published round's share of the figures: everything that can be worked out from that
/// round alone. The dashboard keeps these per round, so an answer about one round recomputes
/// that round and then only adds the parts up ([`combine`]). Kept in the database too (as
/// JSON, see `app::dashboard::FIGURES_FORMAT`), so a restart does not compute them again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoundPart {
    pub stats: RoundStats,
    /// The pairs who met in this round, each as (smaller id, larger id), sorted, no repeats.
    pub pairs: Vec<(i64, i64)>,
    /// Everyone placed in this round, sorted, no repeats.
    pub placed: Vec<i64>,
    /// The shared notes about this round, by text.
    pub takeaways: Vec<Takeaway>,
}

/// What one published round's part is computed from.
#[derive(Clone, Debug, Default)]
pub struct RoundHistory {
    pub number: i64,
    /// (group, membership) for everyone in every group of the round.
    pub placements: Vec<(i64, i64)>,
    pub answers: Vec<Answer>,
    /// The pairs named by "some of us met" answers: (group, membership, membership).
    pub met_pairs: Vec<(i64, i64, i64)>,
}

/// The figures of one published round.
pub fn compute_round(h: &RoundHistory) -> RoundPart {
    let mut groups: BTreeMap<i64, GroupFacts> = BTreeMap::new();
    let mut placed = Vec::with_capacity(h.placements.len());
    for &(group_id, membership_id) in &h.placements {
        let g = groups.entry(group_id).or_default();
        if !g.members.contains(&membership_id) {
            g.members.push(membership_id);
        }
        placed.push(membership_id);
    }
    placed.sort_unstable();
    placed.dedup();

    let mut part = RoundPart {
        stats: RoundStats {
            number: h.number,
            ..Default::default()
        },
        placed,
        ..Default::default()
    };
    for a in &h.answers {
        let Some(outcome) = a.outcome else { continue };
        if let Some(g) = groups.get_mut(&a.group_id) {
            g.answers.push(outcome);
        }
    }
    for a in &h.answers {
        // The rating says how worthwhile the conversation was; one given with "not yet" or
        // "we couldn't meet" is about a conversation that did not happen, so it is left out.
        let met = a.outcome.is_some_and(Outcome::is_meeting);
        if let (true, Some(rating @ 1..=5)) = (met, a.rating) {
            part.stats.ratings += 1;
            part.stats.rating_sum += rating;
        }
        let text = a.takeaway.trim();
        if a.share_consent && !text.is_empty() {
            part.takeaways.push(Takeaway {
                round: h.number,
                text: text.to_string(),
            });
        }
    }
    // By text, so the order says nothing about who wrote which and does not depend on the
    // order the store returned the answers in.
    part.takeaways.sort_by(|a, b| a.text.cmp(&b.text));

    for (group_id, g) in &groups {
        let r = &mut part.stats;
        r.groups += 1;
        let meeting = GroupMeeting::from_answers(g.answers.iter().copied());
        match meeting {
            GroupMeeting::Met => r.met += 1,
            GroupMeeting::NotYet | GroupMeeting::CouldNotMeet => r.did_not_meet += 1,
            GroupMeeting::Unknown => r.unknown += 1,
        }
        if !meeting.met() {
            continue;
        }
        // In a pair, "some of us met" can only mean the pair.
        if g.answers.contains(&Outcome::Met) || g.members.len() < 3 {
            for (i, &a) in g.members.iter().enumerate() {
                for &b in &g.members[i + 1..] {
                    part.pairs.push((a.min(b), a.max(b)));
                }
            }
        } else {
            // Only "some of us met": the pairs those answers name, and no others.
            for &(group, a, b) in &h.met_pairs {
                if group == *group_id && g.members.contains(&a) && g.members.contains(&b) {
                    part.pairs.push((a.min(b), a.max(b)));
                }
            }
        }
    }
    part.pairs.sort_unstable();
    part.pairs.dedup();
    part
}

/// Adds up the parts of the published rounds (in any order) into the dashboard's figures.
/// `value_of` gives each member's grouping value now; it may hold people never placed.
pub fn combine<'a>(
    attribute_values: &[String],
    people: People,
    draft_rounds: i64,
    parts: impl IntoIterator<Item = &'a RoundPart>,
    value_of: &HashMap<i64, String>,
) -> Stats {
    let mut stats = Stats {
        people,
        draft_rounds,
        ..Default::default()
    };
    let mut pairs: Vec<(i64, i64)> = Vec::new();
    let mut placed: Vec<i64> = Vec::new();
    for part in parts {
        stats.rounds.push(part.stats.clone());
        stats.ratings += part.stats.ratings;
        stats.rating_sum += part.stats.rating_sum;
        stats.takeaways.extend(part.takeaways.iter().cloned());
        pairs.extend_from_slice(&part.pairs);
        placed.extend_from_slice(&part.placed);
    }
    stats.rounds.sort_by_key(|r| r.number);
    // Newest round first; within a round by text (each part is sorted by text already).
    stats
        .takeaways
        .sort_by(|a, b| b.round.cmp(&a.round).then_with(|| a.text.cmp(&b.text)));
    // A pair that met in two rounds is one connection.
    pairs.sort_unstable();
    pairs.dedup();
    placed.sort_unstable();
    placed.dedup();

    let value = |id: &i64| value_of.get(id).map_or("", String::as_str);
    let values = heatmap_values(attribute_values, placed.iter().map(value));
    let index: HashMap<&str, usize> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (v.as_str(), i))
        .collect();
    let mut counts = vec![vec![0; values.len()]; values.len()];
    for (a, b) in &pairs {
        let (va, vb) = (value(a), value(b));
        if va != vb {
            stats.cross_connections += 1;
        }
        if let (Some(&i), Some(&j)) = (index.get(va), index.get(vb)) {
            counts[i][j] += 1;
            if i != j {
                counts[j][i] += 1;
            }
        }
    }
    stats.connections = pairs.len() as i64;
    stats.heatmap = Heatmap { values, counts };
    stats
}

/// All the figures at once, from a whole history: each published round's part, added up.
pub fn compute(h: &History) -> Stats {
    let mut rounds: BTreeMap<i64, RoundHistory> = h
        .published_rounds
        .iter()
        .map(|&number| {
            (
                number,
                RoundHistory {
                    number,
                    ..Default::default()
                },
            )
        })
        .collect();
    let mut value_of: HashMap<i64, String> = HashMap::new();
    let mut round_of_group: HashMap<i64, i64> = HashMap::new();
    for p in &h.placements {
        value_of.insert(p.membership_id, p.attribute_value.clone());
        round_of_group.insert(p.group_id, p.round);
        if let Some(r) = rounds.get_mut(&p.round) {
            r.placements.push((p.group_id, p.membership_id));
        }
    }
    for a in &h.answers {
        if let Some(r) = rounds.get_mut(&a.round) {
            r.answers.push(a.clone());
        }
    }
    for &(group, a, b) in &h.met_pairs {
        if let Some(r) = round_of_group.get(&group).and_then(|n| rounds.get_mut(n)) {
            r.met_pairs.push((group, a, b));
        }
    }
    let parts: Vec<RoundPart> = rounds.values().map(compute_round).collect();
    combine(
        &h.attribute_values,
        h.people,
        h.draft_rounds,
        &parts,
        &value_of,
    )
}

/// The values that occur among the people placed in rounds: the trial's own list first, in
/// its order, then any others (free text, or values since removed from the list) sorted.
fn heatmap_values<'a>(listed: &[String], seen: impl Iterator<Item = &'a str>) -> Vec<String> {
    let seen: BTreeSet<&str> = seen.collect();
    let mut values: Vec<String> = listed
        .iter()
        .filter(|v| seen.contains(v.as_str()))
        .cloned()
        .collect();
    for v in seen {
        if !listed.iter().any(|l| l == v) {
            values.push(v.to_string());
        }
    }
    values
}

// ---------------------------------------------------------------------------------------
// Charts. Every piece of text goes through `escape`; ids are reduced to safe characters.

const INK: &str = "#1d2430";
const MUTED: &str = "#5a6472";
const LINE: &str = "#d8dde4";
const MET: &str = "#0b5cad";
const NOT_MET: &str = "#a34a00";
const UNKNOWN: &str = "#d8dde4";

/// Escapes text for SVG (XML) content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn safe_id(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// At most `max` characters, with an ellipsis when cut (the full text goes in a tooltip).
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// How a value of the grouping attribute is shown; people may have left it empty.
pub fn value_label(value: &str) -> &str {
    if value.is_empty() {
        "(not given)"
    } else {
        value
    }
}

fn open_svg(id: &str, width: i64, height: i64, title: &str, desc: &str) -> String {
    let id = safe_id(id);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" class=\"chart-svg\" \
         font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\" font-size=\"13\" \
         fill=\"{INK}\"><title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
        escape(title),
        escape(desc)
    )
}

fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

const ROW: i64 = 30;
const BAR: i64 = 20;
const LABEL_W: i64 = 84;
const BAR_W: i64 = 320;

/// One stacked bar per round: groups that met, did not meet, and did not answer, with the
/// counts in the bar and the whole sentence beside it. None when there is no round.
pub fn meetings_chart(id: &str, rounds: &[RoundStats]) -> Option<String> {
    if rounds.is_empty() {
        return None;
    }
    let width = LABEL_W + BAR_W + 340;
    let top = 34;
    let height = top + ROW * rounds.len() as i64 + 6;
    let mut svg = open_svg(
        id,
        width,
        height,
        "Groups that met, by round",
        "For each published round, a bar split into the groups that met, the groups that \
         answered but did not meet, and the groups that have not answered; the counts are \
         written in the bar and beside it.",
    );
    // Legend: colour and words together.
    let legend = [
        (MET, "met"),
        (NOT_MET, "did not meet"),
        (UNKNOWN, "no answer"),
    ];
    let mut x = LABEL_W;
    for (colour, label) in legend {
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"6\" width=\"14\" height=\"14\" fill=\"{colour}\" stroke=\"{MUTED}\" stroke-width=\"0.5\"/>\
             <text x=\"{}\" y=\"18\">{}</text>",
            x + 20,
            escape(label)
        );
        x += 30 + 8 * label.len() as i64;
    }
    for (i, r) in rounds.iter().enumerate() {
        let y = top + ROW * i as i64;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">Round {}</text>",
            LABEL_W - 8,
            y + 15,
            r.number
        );
        if r.groups == 0 {
            let _ = write!(
                svg,
                "<text x=\"{LABEL_W}\" y=\"{}\" fill=\"{MUTED}\">no groups</text>",
                y + 15
            );
            continue;
        }
        // Integer widths that always add up to the whole bar.
        let edge = |n: i64| (n * BAR_W + r.groups / 2) / r.groups;
        let a = edge(r.met);
        let b = edge(r.met + r.did_not_meet);
        let segments = [
            (0, a, r.met, MET, "#fff", "met"),
            (a, b, r.did_not_meet, NOT_MET, "#fff", "did not meet"),
            (b, BAR_W, r.unknown, UNKNOWN, INK, "did not answer"),
        ];
        for (from, to, count, fill, text_fill, words) in segments {
            let w = to - from;
            if w <= 0 {
                continue;
            }
            let sx = LABEL_W + from;
            let _ = write!(
                svg,
                "<rect x=\"{sx}\" y=\"{y}\" width=\"{w}\" height=\"{BAR}\" fill=\"{fill}\">\
                 <title>Round {}: {} {}</title></rect>",
                r.number,
                plural(count, "group", "groups"),
                words
            );
            if w >= 22 {
                let _ = write!(
                    svg,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{text_fill}\" font-weight=\"600\">{count}</text>",
                    sx + w / 2,
                    y + 15
                );
            }
        }
        let share = match r.met_share() {
            Some(s) => format!("{} met", percent(s)),
            None => "no answers yet".to_string(),
        };
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\">{} met, {} did not, {} no answer ({})</text>",
            LABEL_W + BAR_W + 10,
            y + 15,
            r.met,
            r.did_not_meet,
            r.unknown,
            escape(&share)
        );
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// One bar per round for the average rating on a scale of 1 to 5, the value written at the
/// end of the bar. None when nobody has given a rating.
pub fn ratings_chart(id: &str, rounds: &[RoundStats]) -> Option<String> {
    if rounds.iter().all(|r| r.ratings == 0) {
        return None;
    }
    let width = LABEL_W + BAR_W + 200;
    let top = 8;
    let height = top + ROW * rounds.len() as i64 + 24;
    let mut svg = open_svg(
        id,
        width,
        height,
        "Average rating, by round",
        "For each published round, a bar as long as the average rating on a scale of 1 to 5; \
         the average and the number of ratings are written beside the bar.",
    );
    let bottom = top + ROW * rounds.len() as i64;
    for tick in 1..=5 {
        let x = LABEL_W + tick * BAR_W / 5;
        let _ = write!(
            svg,
            "<line x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{bottom}\" stroke=\"{LINE}\"/>\
             <text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" fill=\"{MUTED}\">{tick}</text>",
            bottom + 16
        );
    }
    for (i, r) in rounds.iter().enumerate() {
        let y = top + ROW * i as i64;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">Round {}</text>",
            LABEL_W - 8,
            y + 15,
            r.number
        );
        match r.average_rating() {
            Some(avg) => {
                let w = ((avg / 5.0) * BAR_W as f64).round() as i64;
                let _ = write!(
                    svg,
                    "<rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w}\" height=\"{BAR}\" fill=\"{MET}\">\
                     <title>Round {}: average {}</title></rect>\
                     <text x=\"{}\" y=\"{}\">{} ({})</text>",
                    r.number,
                    one_decimal(avg),
                    LABEL_W + w + 8,
                    y + 15,
                    one_decimal(avg),
                    plural(r.ratings, "rating", "ratings")
                );
            }
            None => {
                let _ = write!(
                    svg,
                    "<text x=\"{}\" y=\"{}\" fill=\"{MUTED}\">no ratings yet</text>",
                    LABEL_W + 8,
                    y + 15
                );
            }
        }
    }
    svg.push_str("</svg>");
    Some(svg)
}

const CELL: i64 = 48;

/// A grid of attribute value by attribute value with the number of connections written in
/// each cell; darker cells have more. None when nobody has been placed yet.
pub fn heatmap_chart(id: &str, attribute: &str, heatmap: &Heatmap) -> Option<String> {
    let n = heatmap.values.len() as i64;
    if n == 0 {
        return None;
    }
    let left = 160;
    let top = 120;
    let width = left + n * CELL + 20;
    let height = top + n * CELL + 10;
    let attribute = if attribute.trim().is_empty() {
        "group"
    } else {
        attribute
    };
    let mut svg = open_svg(
        id,
        width,
        height,
        &format!("Who met whom, by {attribute}"),
        &format!(
            "A grid with one row and one column per {attribute}; each cell gives the number of \
             connections between someone from the row's {attribute} and someone from the \
             column's, so the grid is the same above and below the diagonal."
        ),
    );
    let max = heatmap.max().max(1);
    for (i, value) in heatmap.values.iter().enumerate() {
        let label = value_label(value);
        let short = escape(&shorten(label, 20));
        let full = escape(label);
        let centre = left + i as i64 * CELL + CELL / 2;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\"><title>{full}</title>{short}</text>\
             <text x=\"{centre}\" y=\"{}\" transform=\"rotate(-45 {centre} {})\"><title>{full}</title>{short}</text>",
            left - 8,
            top + i as i64 * CELL + CELL / 2 + 5,
            top - 8,
            top - 8
        );
    }
    for (i, row) in heatmap.counts.iter().enumerate() {
        for (j, &count) in row.iter().enumerate() {
            let x = left + j as i64 * CELL;
            let y = top + i as i64 * CELL;
            let t = count as f64 / max as f64;
            let (fill, text_fill) = if count == 0 {
                ("#ffffff".to_string(), MUTED)
            } else {
                let mix = |light: f64, dark: f64| (light + (dark - light) * t).round() as u8;
                (
                    format!(
                        "#{:02x}{:02x}{:02x}",
                        mix(226.0, 11.0),
                        mix(236.0, 92.0),
                        mix(248.0, 173.0)
                    ),
                    if t > 0.6 { "#ffffff" } else { INK },
                )
            };
            let _ = write!(
                svg,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{CELL}\" height=\"{CELL}\" fill=\"{fill}\" stroke=\"{LINE}\">\
                 <title>{} and {}: {}</title></rect>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{text_fill}\" font-weight=\"600\">{count}</text>",
                escape(value_label(&heatmap.values[i])),
                escape(value_label(&heatmap.values[j])),
                plural(count, "connection", "connections"),
                x + CELL / 2,
                y + CELL / 2 + 5
            );
        }
    }
    svg.push_str("</svg>");
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(round: i64, group_id: i64, members: &[(i64, &str)]) -> Vec<Placement> {
        members
            .iter()
            .map(|&(membership_id, value)| Placement {
                round,
                group_id,
                membership_id,
                attribute_value: value.to_string(),
            })
            .collect()
    }

    fn answer(round: i64, group_id: i64, who: i64, outcome: &str, rating: Option<i64>) -> Answer {
        Answer {
            round,
            group_id,
            membership_id: who,
            outcome: Outcome::parse(outcome),
            rating,
            takeaway: String::new(),
            share_consent: false,
        }
    }

    /// Two rounds of four people (1, 2 Nursing; 3, 4 Estates) and one group of three.
    fn history() -> History {
        let mut placements = Vec::new();
        placements.extend(place(1, 10, &[(1, "Nursing"), (3, "Estates")]));
        placements.extend(place(1, 11, &[(2, "Nursing"), (4, "Estates")]));
        placements.extend(place(2, 20, &[(1, "Nursing"), (2, "Nursing")]));
        placements.extend(place(
            2,
            21,
            &[(3, "Estates"), (4, "Estates"), (5, "Pharmacy")],
        ));
        let mut shared = answer(2, 21, 5, "some_met", Some(4));
        shared.takeaway = "  Ask about the rota  ".into();
        shared.share_consent = true;
        let mut private = answer(1, 10, 3, "met", None);
        private.takeaway = "not for sharing".into();
        History {
            attribute_values: vec!["Pharmacy".into(), "Nursing".into(), "Estates".into()],
            people: People {
                active: 4,
                paused: 1,
                pending: 0,
            },
            published_rounds: vec![1, 2],
            draft_rounds: 1,
            placements,
            answers: vec![
                answer(1, 10, 1, "met", Some(5)),
                private,
                answer(1, 11, 2, "could_not_meet", Some(2)),
                answer(2, 20, 1, "not_yet", None),
                answer(2, 20, 2, "could_not_meet", None),
                shared,
                answer(2, 21, 3, "not_yet", None),
            ],
            // Person 5's "some of us met" names every pair of the three.
            met_pairs: vec![(21, 3, 4), (21, 3, 5), (21, 4, 5)],
        }
    }

    #[test]
    fn some_of_us_met_counts_only_the_pairs_named() {
        let mut h = history();
        h.met_pairs = vec![(21, 4, 5)];
        let s = compute(&h);
        // 1-3 from round 1, then only 4-5 of the three.
        assert_eq!(s.connections, 2);
        assert_eq!(s.heatmap.count("Estates", "Estates"), Some(0));
        assert_eq!(s.heatmap.count("Pharmacy", "Estates"), Some(1));
        // The group still met.
        assert_eq!(s.rounds[1].met, 1);
        // Without a named pair, no connection is counted, and a pair named for another group
        // changes nothing.
        h.met_pairs = vec![(20, 4, 5)];
        assert_eq!(compute(&h).connections, 1);
        // "We met" from anyone in the group means all three pairs.
        h.answers.push(answer(2, 21, 4, "met", None));
        assert_eq!(compute(&h).connections, 4);
    }

    #[test]
    fn counts_meetings_ratings_and_connections() {
        let s = compute(&history());
        assert_eq!(
            s.rounds[0],
            RoundStats {
                number: 1,
                groups: 2,
                met: 1,
                did_not_meet: 1,
                unknown: 0,
                // B's 2 came with "could not meet": not a rating of a conversation.
                ratings: 1,
                rating_sum: 5,
            }
        );
        assert_eq!(s.rounds[0].met_share(), Some(0.5));
        // Round 2: 1-2 did not meet; the group of three met because one said "some met".
        assert_eq!((s.rounds[1].met, s.rounds[1].did_not_meet), (1, 1));
        assert_eq!(s.average_rating(), Some(9.0 / 2.0));
        // 1-3, then 3-4, 3-5, 4-5.
        assert_eq!(s.connections, 4);
        assert_eq!(s.cross_connections, 3);
        assert_eq!(s.cross_share(), Some(0.75));
        assert_eq!(s.heatmap.values, ["Pharmacy", "Nursing", "Estates"]);
        assert_eq!(s.heatmap.count("Nursing", "Estates"), Some(1));
        assert_eq!(s.heatmap.count("Estates", "Nursing"), Some(1));
        assert_eq!(s.heatmap.count("Estates", "Estates"), Some(1));
        assert_eq!(s.heatmap.count("Pharmacy", "Estates"), Some(2));
        assert_eq!(s.heatmap.count("Nursing", "Nursing"), Some(0));
        assert_eq!(
            s.takeaways,
            [Takeaway {
                round: 2,
                text: "Ask about the rota".into()
            }]
        );
    }

    #[test]
    fn ratings_count_only_for_conversations_that_happened() {
        let mut h = history();
        // Round 1: A met (5) and B "could not meet" (2) give 5.0, not 3.5.
        let s = compute(&h);
        assert_eq!(s.rounds[0].average_rating(), Some(5.0));
        assert_eq!(s.rounds[0].ratings, 1);
        h.answers.push(answer(2, 20, 1, "not_yet", Some(1)));
        assert_eq!(compute(&h).rounds[1].ratings, 1, "round 2 keeps only the 4");
    }

    #[test]
    fn unanswered_groups_are_unknown_not_unmet() {
        let mut h = history();
        h.answers.clear();
        let s = compute(&h);
        assert_eq!(s.rounds[0].unknown, 2);
        assert_eq!(s.rounds[0].did_not_meet, 0);
        assert_eq!(s.rounds[0].met_share(), None);
        assert_eq!(s.connections, 0);
        assert_eq!(s.cross_share(), None);
        assert_eq!(s.average_rating(), None);
    }

    #[test]
    fn a_pair_meeting_twice_is_one_connection() {
        let mut placements = place(1, 1, &[(1, "A"), (2, "B")]);
        placements.extend(place(2, 2, &[(2, "B"), (1, "A")]));
        let h = History {
            published_rounds: vec![1, 2],
            answers: vec![answer(1, 1, 1, "met", None), answer(2, 2, 2, "met", None)],
            placements,
            ..Default::default()
        };
        let s = compute(&h);
        assert_eq!(s.connections, 1);
        assert_eq!(s.totals().met, 2);
        // Free-text values not on a list are sorted after it.
        assert_eq!(s.heatmap.values, ["A", "B"]);
    }

    #[test]
    fn an_empty_trial_has_no_numbers_and_no_charts() {
        let s = compute(&History::default());
        assert_eq!(s.rounds, []);
        assert_eq!(s.average_rating(), None);
        assert_eq!(s.cross_share(), None);
        assert!(meetings_chart("m", &s.rounds).is_none());
        assert!(ratings_chart("r", &s.rounds).is_none());
        assert!(heatmap_chart("h", "Department", &s.heatmap).is_none());
    }

    #[test]
    fn charts_carry_titles_and_printed_values() {
        let s = compute(&history());
        let meetings = meetings_chart("meetings", &s.rounds).unwrap();
        assert!(meetings.starts_with("<svg"));
        assert!(meetings.contains("<title id=\"meetings-title\">Groups that met, by round</title>"));
        assert!(meetings.contains("aria-labelledby=\"meetings-title meetings-desc\""));
        assert!(meetings.contains(">Round 1</text>"));
        assert!(meetings.contains("1 met, 1 did not, 0 no answer (50% met)"));
        let ratings = ratings_chart("ratings", &s.rounds).unwrap();
        assert!(ratings.contains(">5.0 (1 rating)</text>"));
        assert!(ratings.contains(">4.0 (1 rating)</text>"));
        let heat = heatmap_chart("heat", "Department", &s.heatmap).unwrap();
        assert!(heat.contains("Pharmacy and Estates: 2 connections"));
        assert!(heat.contains("font-weight=\"600\">2</text>"));
    }

    #[test]
    fn chart_text_is_escaped() {
        let h = History {
            attribute_values: vec![],
            published_rounds: vec![1],
            placements: place(1, 1, &[(1, "<script>alert(1)</script>"), (2, "R&D")]),
            answers: vec![answer(1, 1, 1, "met", None)],
            ..Default::default()
        };
        let s = compute(&h);
        let heat = heatmap_chart("x\"><script>", "<b>Team</b>", &s.heatmap).unwrap();
        assert!(!heat.contains("<script>"));
        assert!(!heat.contains("<b>"));
        assert!(heat.contains("&lt;script&gt;"));
        assert!(heat.contains("R&amp;D"));
        assert!(heat.contains("id=\"xscript-title\""));
    }

    #[test]
    fn long_labels_are_shortened_and_empty_ones_named() {
        assert_eq!(
            shorten("Facilities and Estates Management", 10),
            "Facilitie…"
        );
        assert_eq!(shorten("Estates", 10), "Estates");
        assert_eq!(value_label(""), "(not given)");
        assert_eq!(percent(2.0 / 3.0), "67%");
        assert_eq!(percent(5.0 / 8.0), "63%");
        assert_eq!(one_decimal(23.0 / 6.0), "3.8");
    }

    /// The round parts of `history()`, computed one by one as the dashboard does.
    fn parts_of(h: &History) -> Vec<RoundPart> {
        h.published_rounds
            .iter()
            .map(|&number| {
                let groups: Vec<i64> = h
                    .placements
                    .iter()
                    .filter(|p| p.round == number)
                    .map(|p| p.group_id)
                    .collect();
                compute_round(&RoundHistory {
                    number,
                    placements: h
                        .placements
                        .iter()
                        .filter(|p| p.round == number)
                        .map(|p| (p.group_id, p.membership_id))
                        .collect(),
                    answers: h
                        .answers
                        .iter()
                        .filter(|a| a.round == number)
                        .cloned()
                        .collect(),
                    met_pairs: h
                        .met_pairs
                        .iter()
                        .copied()
                        .filter(|(g, _, _)| groups.contains(g))
                        .collect(),
                })
            })
            .collect()
    }

    #[test]
    fn adding_up_round_parts_in_any_order_gives_the_whole() {
        let h = history();
        let whole = compute(&h);
        let mut parts = parts_of(&h);
        // Values of everyone in the trial, placed or not: only the placed ones show.
        let mut values: HashMap<i64, String> = h
            .placements
            .iter()
            .map(|p| (p.membership_id, p.attribute_value.clone()))
            .collect();
        values.insert(99, "Never placed".into());
        for _ in 0..2 {
            let added = combine(
                &h.attribute_values,
                h.people,
                h.draft_rounds,
                &parts,
                &values,
            );
            assert_eq!(added, whole);
            parts.reverse();
        }
        assert!(!whole.heatmap.values.contains(&"Never placed".to_string()));
        // A pair who met in both rounds is one connection, not two.
        let mut twice = h.clone();
        twice
            .placements
            .extend(place(3, 30, &[(1, "Nursing"), (3, "Estates")]));
        twice.answers.push(answer(3, 30, 1, "met", Some(4)));
        twice.published_rounds.push(3);
        let again = combine(
            &twice.attribute_values,
            twice.people,
            twice.draft_rounds,
            &parts_of(&twice),
            &values,
        );
        assert_eq!(again.connections, whole.connections);
        assert_eq!(again.rounds.len(), 3);
        assert_eq!(again, compute(&twice));
    }

    #[test]
    fn a_round_part_changes_only_with_its_own_round() {
        let h = history();
        let before = parts_of(&h);
        let mut changed = h.clone();
        changed.answers.push(answer(2, 20, 2, "met", Some(3)));
        let after = parts_of(&changed);
        assert_eq!(before[0], after[0]);
        assert_ne!(before[1], after[1]);
        assert_eq!(after[1].pairs, vec![(1, 2), (3, 4), (3, 5), (4, 5)]);
        assert_eq!(after[1].placed, vec![1, 2, 3, 4, 5]);
    }
}
