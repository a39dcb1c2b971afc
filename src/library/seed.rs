//! The built-in techniques, from the data file `techniques.json` next to this module.
//!
//! The data file is the one source of truth for the built-in content: the pages' tests, the
//! chooser's tests and anything that needs the techniques without a database read it here.
//!
//! Why the database is not filled from it by code: existing installs were seeded by the
//! migration `0002_seed_techniques.sql`, which sqlx has recorded with its checksum, so that
//! migration can be neither changed nor removed, and it still seeds new installs. Inserting
//! the file's techniques again at start-up (only those whose slug is missing) would bring back
//! a built-in technique an organiser has renamed, so nothing does that. Instead a test checks
//! that a freshly migrated database, on either backend, holds exactly the techniques of this
//! file. Changing a built-in technique therefore means changing this file and adding a
//! migration that makes the same change, written so as to leave rows organisers have edited
//! alone (for example `WHERE slug = '…' AND updated_at = '2026-11-25T00:00:00Z'`).

use serde::Deserialize;

use super::chooser::{Phase, TechniqueFacts};
use super::{validate_technique_input, TechniqueInput};

/// The data file, compiled in.
pub const TECHNIQUES_JSON: &str = include_str!("techniques.json");

/// When the seed migration says the built-in techniques were written.
pub const SEEDED_AT: &str = "2026-11-25T00:00:00Z";

/// One built-in technique.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedTechnique {
    pub slug: String,
    pub name: String,
    pub phase: Phase,
    /// Order within the phase, from 1.
    pub position: u32,
    pub summary: String,
    pub duration_min_minutes: u32,
    pub duration_max_minutes: u32,
    pub people_min: u32,
    /// `None` means no upper limit.
    pub people_max: Option<u32>,
    /// Markdown, kept as a list of lines in the file so that a change shows as a readable diff.
    #[serde(deserialize_with = "joined_lines")]
    pub body_md: String,
}

fn joined_lines<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Vec::<String>::deserialize(d)?.join("\n"))
}

impl SeedTechnique {
    /// The facts the chooser needs.
    pub fn facts(&self) -> TechniqueFacts {
        TechniqueFacts {
            slug: self.slug.clone(),
            name: self.name.clone(),
            phase: self.phase,
            duration_min_minutes: self.duration_min_minutes,
            duration_max_minutes: self.duration_max_minutes,
            people_min: self.people_min,
            people_max: self.people_max,
        }
    }
}

/// Why the data file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("techniques data file: {0}")]
    Syntax(#[from] serde_json::Error),
    #[error("technique {slug}, field {field}: {message}")]
    Invalid {
        slug: String,
        field: String,
        message: String,
    },
}

/// The built-in techniques in seed order (phase by phase, by position).
///
/// # Panics
///
/// Only if the bundled data file is malformed, which the tests rule out.
pub fn builtin_techniques() -> Vec<SeedTechnique> {
    parse_techniques(TECHNIQUES_JSON).expect("bundled techniques.json is valid (see its tests)")
}

/// Reads techniques in the data file's format and checks each with the console form's rules
/// ([`validate_technique_input`]).
pub fn parse_techniques(json: &str) -> Result<Vec<SeedTechnique>, SeedError> {
    let techniques: Vec<SeedTechnique> = serde_json::from_str(json)?;
    for t in &techniques {
        validate_technique_input(&TechniqueInput {
            slug: &t.slug,
            name: &t.name,
            phase: t.phase.as_str(),
            summary: &t.summary,
            duration_min_minutes: t.duration_min_minutes.into(),
            duration_max_minutes: t.duration_max_minutes.into(),
            people_min: t.people_min.into(),
            people_max: t.people_max.map(i64::from),
            body_md: &t.body_md,
        })
        .map_err(|errors| SeedError::Invalid {
            slug: t.slug.clone(),
            field: errors[0].field.to_string(),
            message: errors[0].message.to_string(),
        })?;
    }
    Ok(techniques)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::library::{chooser, markdown, BODY_SECTIONS};

    /// Every technique in the source material, by phase, in order.
    const EXPECTED: [(Phase, &[&str]); 3] = [
        (
            Phase::Before,
            &[
                "self-assessment-tool",
                "peer-assist",
                "before-action-review",
                "appreciative-inquiry",
            ],
        ),
        (
            Phase::During,
            &[
                "after-action-review",
                "knowledge-cafe",
                "communities-of-practice",
                "knowledge-assets",
                "action-learning-sets",
                "randomised-coffee-trials",
                "fishbowl-conversations",
            ],
        ),
        (
            Phase::After,
            &["retrospect", "knowledge-harvesting", "leavers-toolkit"],
        ),
    ];

    #[test]
    fn seed_has_every_technique_in_phase_order() {
        let seed = builtin_techniques();
        assert_eq!(seed.len(), 14);
        let got: Vec<(Phase, u32, &str)> = seed
            .iter()
            .map(|t| (t.phase, t.position, t.slug.as_str()))
            .collect();
        let expected: Vec<(Phase, u32, &str)> = EXPECTED
            .iter()
            .flat_map(|(phase, slugs)| {
                slugs
                    .iter()
                    .zip(1..)
                    .map(move |(slug, position)| (*phase, position, *slug))
            })
            .collect();
        assert_eq!(got, expected);

        let slugs: HashSet<&str> = seed.iter().map(|t| t.slug.as_str()).collect();
        let names: HashSet<&str> = seed.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(slugs.len(), seed.len());
        assert_eq!(names.len(), seed.len());
        assert!(
            slugs.contains("randomised-coffee-trials"),
            "emails link to this slug"
        );
    }

    #[test]
    fn seed_rows_are_sane() {
        for t in builtin_techniques() {
            let s = t.slug.as_str();
            assert!(
                (5..=480).contains(&t.duration_min_minutes)
                    && t.duration_min_minutes <= t.duration_max_minutes
                    && t.duration_max_minutes <= 480,
                "{s}: duration {}..{}",
                t.duration_min_minutes,
                t.duration_max_minutes
            );
            assert!((1..=10).contains(&t.people_min), "{s}");
            if let Some(max) = t.people_max {
                assert!(t.people_min < max && max <= 100, "{s}");
            }
            // One plain-text sentence.
            let summary = t.summary.as_str();
            assert!(
                summary.ends_with('.') && summary.matches(". ").count() == 0,
                "{s}"
            );
            assert!(!summary.contains(['*', '_', '#', '[', '`', '<']), "{s}");
            assert!(!t.name.is_empty() && t.name.len() <= 40, "{s}");
        }
    }

    #[test]
    fn seed_bodies_have_the_four_sections_with_content() {
        for t in builtin_techniques() {
            let s = t.slug.as_str();
            assert_eq!(markdown::h2_headings(&t.body_md), BODY_SECTIONS, "{s}");
            assert!(t.body_md.starts_with("## What it is for\n"), "{s}");
            // No other heading levels, and every section has text.
            let sections: Vec<&str> = t.body_md.split("## ").skip(1).collect();
            assert_eq!(sections.len(), 4, "{s}");
            for section in sections {
                let (heading, text) = section.split_once('\n').unwrap_or((section, ""));
                assert!(
                    text.trim().len() > 80,
                    "{s}: section {heading:?} is too thin"
                );
            }
            assert_eq!(
                t.body_md.matches('#').count(),
                8,
                "{s}: only the four headings"
            );
            // "How to run it" is a numbered list of steps or questions.
            let how = t
                .body_md
                .split("## How to run it")
                .nth(1)
                .unwrap_or_default();
            let how = how.split("## When to use it").next().unwrap_or_default();
            assert!(how.contains("\n1. ") && how.contains("\n3. "), "{s}");
            // Renders without raw HTML or images.
            let html = markdown::render_markdown(&t.body_md);
            assert!(
                html.contains("<h2>Example</h2>") && html.contains("<ol>"),
                "{s}"
            );
            assert!(!html.contains("<img") && !html.contains("href"), "{s}");
        }
    }

    #[test]
    fn chooser_works_on_the_real_library() {
        let facts: Vec<TechniqueFacts> = builtin_techniques()
            .iter()
            .map(SeedTechnique::facts)
            .collect();
        let slugs = |query: chooser::ChooserQuery| -> Vec<String> {
            chooser::suggest(&query, &facts)
                .into_iter()
                .map(|s| s.slug)
                .collect()
        };
        let q = |phase, minutes, people| chooser::ChooserQuery {
            phase,
            minutes_available: minutes,
            people,
        };

        assert_eq!(slugs(q(None, None, None)).len(), 14);
        assert_eq!(
            slugs(q(Some(Phase::During), Some(30), Some(2))),
            ["after-action-review", "randomised-coffee-trials"]
        );
        assert_eq!(
            slugs(q(Some(Phase::Before), Some(15), Some(6))),
            ["before-action-review"]
        );
        assert_eq!(
            slugs(q(Some(Phase::Before), Some(240), Some(12))),
            [
                "peer-assist",
                "appreciative-inquiry",
                "before-action-review"
            ]
        );
        assert_eq!(
            slugs(q(Some(Phase::After), Some(30), Some(1))),
            ["leavers-toolkit"]
        );
        // Nothing "before" fits into ten minutes: nearest options, best first.
        let near = chooser::suggest(&q(Some(Phase::Before), Some(10), Some(4)), &facts);
        assert_eq!(near[0].slug, "before-action-review");
        assert!(near.iter().all(|s| !s.fits));
        assert!(near[0]
            .reason
            .contains("needs at least 15 minutes (you have 10 minutes)"));
    }

    #[test]
    fn the_data_file_is_checked_as_it_is_read() {
        let one = |edit: &str| {
            let mut value: serde_json::Value = serde_json::from_str(TECHNIQUES_JSON).unwrap();
            let first = &mut value[0];
            match edit {
                "phase" => first["phase"] = "sometime".into(),
                "unknown field" => first["colour"] = "blue".into(),
                "missing field" => {
                    first.as_object_mut().unwrap().remove("summary");
                }
                "negative" => first["people_min"] = (-1).into(),
                "no name" => first["name"] = "".into(),
                "bad slug" => first["slug"] = "Not A Slug".into(),
                _ => {}
            }
            parse_techniques(&value.to_string())
        };
        assert_eq!(one("nothing").unwrap(), builtin_techniques());
        for edit in ["phase", "unknown field", "missing field", "negative"] {
            assert!(matches!(one(edit), Err(SeedError::Syntax(_))), "{edit}");
        }
        for (edit, field) in [("no name", "name"), ("bad slug", "slug")] {
            match one(edit) {
                Err(SeedError::Invalid {
                    slug, field: got, ..
                }) => {
                    assert_eq!(got, field, "{edit}");
                    assert!(!slug.is_empty());
                }
                other => panic!(
                    "{edit}: expected an invalid field, got {:?}",
                    other.map(|v| v.len())
                ),
            }
        }
    }

    #[test]
    fn bodies_keep_their_line_breaks_and_no_trailing_newline() {
        let t = &builtin_techniques()[0];
        assert!(t.body_md.starts_with("## What it is for\n\n"));
        assert!(!t.body_md.ends_with('\n'));
    }
}
