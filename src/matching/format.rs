//! The file format of the matching yardstick (`FORMAT.md`): instance JSON in,
//! output JSON out. Pure functions on strings; errors name the exact place,
//! e.g. `participants[3].id` or `history[2][5]`.
//!
//! A participant's `modes` (a list of `in_person`, `video`, `phone`; missing or
//! empty = any way) and `site` (missing = anywhere) say how they can meet.
//!
//! Beyond the yardstick's fields, a participant may carry `never_together`
//! (a string) and `do_not_pair` (a list of ids); a history group may be written
//! as `{"members": [...], "met": false}` for a meeting that did not happen; and
//! a top-level `rules` object may set `prefer_cross_group` (true or false),
//! `same_site_only` (true or false: in person only for two people who named the
//! same site) and `group_size` (2, the default, for pairs; 3 for groups of three). Unknown
//! fields are ignored.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::meet::{HowToMeet, Way, Ways};
use super::{Instance, Outcome, PastGroup, PastRound, Person, Rules, Stats, Unplaced};

/// A problem in an instance document, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct FormatError {
    /// A JSON path such as `participants[3].id`, or `line L, column C` for syntax errors.
    pub location: String,
    pub problem: String,
}

fn fail<T>(location: impl Into<String>, problem: impl Into<String>) -> Result<T, FormatError> {
    Err(FormatError {
        location: location.into(),
        problem: problem.into(),
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn optional_string(
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<String>, FormatError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => fail(
            format!("{at}.{key}"),
            format!("expected a string, found {}", kind(v)),
        ),
    }
}

/// Parses an instance document.
pub fn parse_instance(text: &str) -> Result<Instance, FormatError> {
    let root: Value = serde_json::from_str(text).map_err(|e| FormatError {
        location: format!("line {}, column {}", e.line(), e.column()),
        problem: format!("malformed JSON ({})", strip_position(&e.to_string())),
    })?;
    let Value::Object(root) = root else {
        return fail(
            "document",
            format!("expected an object, found {}", kind(&root)),
        );
    };

    let participants = match root.get("participants") {
        Some(Value::Array(a)) => a,
        Some(v) => {
            return fail(
                "participants",
                format!("expected a list, found {}", kind(v)),
            )
        }
        None => return fail("participants", "missing"),
    };
    let mut people = Vec::with_capacity(participants.len());
    let mut first_at: HashMap<&str, usize> = HashMap::with_capacity(participants.len());
    for (i, p) in participants.iter().enumerate() {
        let at = format!("participants[{i}]");
        let Value::Object(obj) = p else {
            return fail(at, format!("expected an object, found {}", kind(p)));
        };
        let id = match obj.get("id") {
            Some(Value::String(s)) if s.is_empty() => return fail(format!("{at}.id"), "empty id"),
            Some(Value::String(s)) => s,
            Some(v) => {
                return fail(
                    format!("{at}.id"),
                    format!("expected a string, found {}", kind(v)),
                )
            }
            None => return fail(format!("{at}.id"), "missing"),
        };
        if let Some(j) = first_at.insert(id.as_str(), i) {
            return fail(
                format!("{at}.id"),
                format!("duplicate id {id:?} (already used by participants[{j}])"),
            );
        }
        let do_not_pair = match obj.get("do_not_pair") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    v => fail(
                        format!("{at}.do_not_pair[{k}]"),
                        format!("expected an id string, found {}", kind(v)),
                    ),
                })
                .collect::<Result<_, _>>()?,
            Some(v) => {
                return fail(
                    format!("{at}.do_not_pair"),
                    format!("expected a list, found {}", kind(v)),
                )
            }
        };
        let ways = match obj.get("modes") {
            None | Some(Value::Null) => Ways::ANY,
            Some(Value::Array(a)) => Ways::from_list(
                a.iter()
                    .enumerate()
                    .map(|(k, v)| match v {
                        Value::String(s) => Way::parse(s).ok_or_else(|| FormatError {
                            location: format!("{at}.modes[{k}]"),
                            problem: format!(
                                "unknown way {s:?} (expected \"in_person\", \"video\" or \"phone\")"
                            ),
                        }),
                        v => fail(
                            format!("{at}.modes[{k}]"),
                            format!("expected a string, found {}", kind(v)),
                        ),
                    })
                    .collect::<Result<Vec<Way>, _>>()?,
            ),
            Some(v) => {
                return fail(
                    format!("{at}.modes"),
                    format!("expected a list, found {}", kind(v)),
                )
            }
        };
        people.push(Person {
            id: id.clone(),
            group: optional_string(obj, "group", &at)?,
            never_together: optional_string(obj, "never_together", &at)?,
            do_not_pair,
            ways,
            site: optional_string(obj, "site", &at)?,
        });
    }

    let rounds = match root.get("history") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => &a[..],
        Some(v) => {
            return fail(
                "history",
                format!("expected a list of rounds, found {}", kind(v)),
            )
        }
    };
    let mut history = Vec::with_capacity(rounds.len());
    for (r, round) in rounds.iter().enumerate() {
        let Value::Array(groups) = round else {
            return fail(
                format!("history[{r}]"),
                format!("expected a list of groups, found {}", kind(round)),
            );
        };
        let mut out = Vec::with_capacity(groups.len());
        for (g, group) in groups.iter().enumerate() {
            out.push(parse_group(group, &format!("history[{r}][{g}]"))?);
        }
        history.push(PastRound { groups: out });
    }

    let mut rules = Rules::default();
    match root.get("rules") {
        None | Some(Value::Null) => {}
        Some(Value::Object(obj)) => {
            match obj.get("prefer_cross_group") {
                None | Some(Value::Null) => {}
                Some(Value::Bool(b)) => rules.prefer_cross_group = *b,
                Some(v) => {
                    return fail(
                        "rules.prefer_cross_group",
                        format!("expected true or false, found {}", kind(v)),
                    )
                }
            }
            match obj.get("same_site_only") {
                None | Some(Value::Null) => {}
                Some(Value::Bool(b)) => rules.same_site_only = *b,
                Some(v) => {
                    return fail(
                        "rules.same_site_only",
                        format!("expected true or false, found {}", kind(v)),
                    )
                }
            }
            match obj.get("group_size") {
                None | Some(Value::Null) => {}
                Some(Value::Number(x)) if matches!(x.as_u64(), Some(2 | 3)) => {
                    rules.group_size = if x.as_u64() == Some(3) { 3 } else { 2 };
                }
                Some(v) => {
                    let found = match v {
                        Value::Number(x) => x.to_string(),
                        v => kind(v).to_string(),
                    };
                    return fail(
                        "rules.group_size",
                        format!("expected 2 or 3, found {found}"),
                    );
                }
            }
        }
        Some(v) => return fail("rules", format!("expected an object, found {}", kind(v))),
    }

    Ok(Instance {
        participants: people,
        history,
        rules,
    })
}

fn parse_group(group: &Value, at: &str) -> Result<PastGroup, FormatError> {
    let (list, met, list_at) = match group {
        Value::Array(a) => (a, true, at.to_string()),
        Value::Object(obj) => {
            let met = match obj.get("met") {
                None | Some(Value::Null) => true,
                Some(Value::Bool(b)) => *b,
                Some(v) => {
                    return fail(
                        format!("{at}.met"),
                        format!("expected true or false, found {}", kind(v)),
                    )
                }
            };
            match obj.get("members") {
                Some(Value::Array(a)) => (a, met, format!("{at}.members")),
                Some(v) => {
                    return fail(
                        format!("{at}.members"),
                        format!("expected a list, found {}", kind(v)),
                    )
                }
                None => return fail(format!("{at}.members"), "missing"),
            }
        }
        v => return fail(at, format!("expected a list of ids, found {}", kind(v))),
    };
    if list.len() < 2 {
        return fail(
            at,
            format!("a group needs at least two members, found {}", list.len()),
        );
    }
    let mut members: Vec<String> = Vec::with_capacity(list.len());
    for (k, v) in list.iter().enumerate() {
        match v {
            Value::String(s) if s.is_empty() => return fail(format!("{list_at}[{k}]"), "empty id"),
            Value::String(s) if members.contains(s) => {
                return fail(
                    format!("{list_at}[{k}]"),
                    format!("id {s:?} appears twice in the group"),
                )
            }
            Value::String(s) => members.push(s.clone()),
            v => {
                return fail(
                    format!("{list_at}[{k}]"),
                    format!("expected an id string, found {}", kind(v)),
                )
            }
        }
    }
    Ok(PastGroup { members, met })
}

/// serde_json appends " at line L column C", which our location already says.
fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}

#[derive(Serialize)]
struct Document<'a> {
    groups: Vec<&'a [String]>,
    seed: u64,
    reasons: Vec<&'a str>,
    how: Vec<&'a HowToMeet>,
    unplaced: &'a [Unplaced],
    stats: &'a Stats,
}

/// The output document: `{"groups": [[ids]...]}` as the yardstick expects, plus
/// `seed`, `reasons` and `how` (parallel to `groups`), `unplaced` and `stats`.
pub fn write_outcome(outcome: &Outcome) -> String {
    let doc = Document {
        groups: outcome
            .groups
            .iter()
            .map(|g| g.members.as_slice())
            .collect(),
        seed: outcome.seed,
        reasons: outcome.groups.iter().map(|g| g.reason.as_str()).collect(),
        how: outcome.groups.iter().map(|g| &g.how).collect(),
        unplaced: &outcome.unplaced,
        stats: &outcome.stats,
    };
    serde_json::to_string(&doc).expect("plain data always serialises")
}

/// The default seed for a document: the first 8 bytes (little-endian) of its
/// SHA-256, the same convention as the yardstick's baselines.
pub fn seed_from_bytes(bytes: &[u8]) -> u64 {
    let digest = Sha256::digest(bytes);
    u64::from_le_bytes(digest[..8].try_into().expect("SHA-256 has 32 bytes"))
}
