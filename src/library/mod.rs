//! The library of knowledge-mobilisation techniques.
//!
//! Everything here is pure: no I/O, no SQL and no HTTP. The techniques
//! themselves live in the database, seeded by the `0002_seed_techniques.sql`
//! migrations; [`seed`] reads the built-in content from its data file, which a
//! test keeps equal to what the migrations seed.
//!
//! - [`chooser`]: the "what are you about to do?" technique chooser.
//! - [`markdown`]: safe Markdown-to-HTML rendering for technique pages.
//! - [`seed`]: the built-in techniques, read from `techniques.json`.
//! - [`validate_technique_input`]: field checks for the console form.

pub mod chooser;
pub mod markdown;
pub mod seed;

pub use chooser::{suggest, ChooserQuery, Phase, Suggestion, TechniqueFacts};
pub use markdown::{h2_headings, render_markdown};
pub use seed::{builtin_techniques, parse_techniques, SeedError, SeedTechnique};

/// One- or two-sentence introduction to the learning cycle, shown at the top
/// of the /techniques page.
pub const LEARNING_CYCLE: &str = "Good teams treat learning as a loop rather than a one-off: \
before a piece of work begins they borrow what others already know, while it is under way \
they pause to reflect and share, and once it is over they capture the lessons. \
Those lessons then become the starting point for the next piece of work.";

/// A short heading line for each phase, in display order, for the
/// /techniques page. Also available as [`Phase::heading`].
pub const PHASE_HEADINGS: [(Phase, &str); 3] = [
    (
        Phase::Before,
        "Before you start: find out what others have already learned",
    ),
    (
        Phase::During,
        "While the work is under way: reflect, connect and adjust",
    ),
    (
        Phase::After,
        "When it is finished: capture the lessons before people move on",
    ),
];

/// The level-2 headings every technique body must have, exactly and in this
/// order.
pub const BODY_SECTIONS: [&str; 4] = [
    "What it is for",
    "How to run it",
    "When to use it",
    "Example",
];

/// Longest allowed slug, in characters.
pub const MAX_SLUG_CHARS: usize = 64;
/// Longest allowed technique name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest allowed one-sentence summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 300;
/// Longest allowed Markdown body, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;
/// Longest allowed typical duration: one week, in minutes.
pub const MAX_DURATION_MINUTES: i64 = 7 * 24 * 60;
/// Largest allowed group size.
pub const MAX_PEOPLE: i64 = 100_000;

/// A problem with one field of a technique form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The form field (and database column) the message is about.
    pub field: &'static str,
    /// A plain-English message suitable for showing next to the field.
    pub message: String,
}

impl FieldError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The editable fields of a technique, as submitted by the console form
/// (numbers already parsed; field names match the `techniques` columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TechniqueInput<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub phase: &'a str,
    pub summary: &'a str,
    pub duration_min_minutes: i64,
    pub duration_max_minutes: i64,
    pub people_min: i64,
    /// `None` means no upper limit.
    pub people_max: Option<i64>,
    pub body_md: &'a str,
}

/// Checks a slug: 1 to [`MAX_SLUG_CHARS`] characters of lower-case ASCII
/// letters and digits, separated by single hyphens.
pub fn validate_slug(slug: &str) -> Result<(), String> {
    if slug.is_empty() {
        return Err("Enter a slug, for example peer-assist.".to_string());
    }
    if slug.chars().count() > MAX_SLUG_CHARS {
        return Err(format!(
            "Keep the slug to {MAX_SLUG_CHARS} characters or fewer."
        ));
    }
    let well_formed = slug.split('-').all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if !well_formed {
        return Err("Use lower-case letters and digits separated by single hyphens, for example peer-assist.".to_string());
    }
    Ok(())
}

/// Checks every field of a technique and returns all problems found, each
/// named by its field, or `Ok(())` when the input can be saved.
pub fn validate_technique_input(input: &TechniqueInput<'_>) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();

    if let Err(message) = validate_slug(input.slug) {
        errors.push(FieldError::new("slug", message));
    }

    check_text(&mut errors, "name", input.name, "a name", MAX_NAME_CHARS);
    if input.name.contains(['\n', '\r']) {
        errors.push(FieldError::new("name", "Keep the name on one line."));
    }

    if Phase::parse(input.phase).is_none() {
        errors.push(FieldError::new(
            "phase",
            "Choose when the technique is used: before, during or after.",
        ));
    }

    check_text(
        &mut errors,
        "summary",
        input.summary,
        "a one-sentence summary",
        MAX_SUMMARY_CHARS,
    );
    if input.summary.contains(['\n', '\r']) {
        errors.push(FieldError::new("summary", "Keep the summary on one line."));
    }

    let duration_min_ok = check_range(
        &mut errors,
        "duration_min_minutes",
        input.duration_min_minutes,
        1,
        MAX_DURATION_MINUTES,
        "minutes",
    );
    let duration_max_ok = check_range(
        &mut errors,
        "duration_max_minutes",
        input.duration_max_minutes,
        1,
        MAX_DURATION_MINUTES,
        "minutes",
    );
    if duration_min_ok && duration_max_ok && input.duration_max_minutes < input.duration_min_minutes
    {
        errors.push(FieldError::new(
            "duration_max_minutes",
            "The longest duration cannot be shorter than the shortest.",
        ));
    }

    let people_min_ok = check_range(
        &mut errors,
        "people_min",
        input.people_min,
        1,
        MAX_PEOPLE,
        "people",
    );
    if let Some(people_max) = input.people_max {
        let people_max_ok = check_range(
            &mut errors,
            "people_max",
            people_max,
            1,
            MAX_PEOPLE,
            "people",
        );
        if people_min_ok && people_max_ok && people_max < input.people_min {
            errors.push(FieldError::new(
                "people_max",
                "The largest group cannot be smaller than the smallest; leave it empty for no upper limit.",
            ));
        }
    }

    if input.body_md.trim().is_empty() {
        errors.push(FieldError::new(
            "body_md",
            "Enter the description of the technique.",
        ));
    } else if input.body_md.chars().count() > MAX_BODY_CHARS {
        errors.push(FieldError::new(
            "body_md",
            format!("Keep the description to {MAX_BODY_CHARS} characters or fewer."),
        ));
    } else if h2_headings(input.body_md) != BODY_SECTIONS {
        errors.push(FieldError::new(
            "body_md",
            format!(
                "Use exactly these sections, in this order: {}.",
                BODY_SECTIONS
                    .iter()
                    .map(|s| format!("\"## {s}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }

    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_text(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: &str,
    what: &str,
    max: usize,
) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, format!("Enter {what}.")));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("Keep this to {max} characters or fewer."),
        ));
    }
}

fn check_range(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: i64,
    min: i64,
    max: i64,
    unit: &str,
) -> bool {
    if (min..=max).contains(&value) {
        true
    } else {
        errors.push(FieldError::new(
            field,
            format!("Enter a whole number of {unit} from {min} to {max}."),
        ));
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> String {
        BODY_SECTIONS
            .iter()
            .map(|s| format!("## {s}\n\nSome text.\n"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn valid(body: &str) -> TechniqueInput<'_> {
        TechniqueInput {
            slug: "peer-assist",
            name: "Peer assist",
            phase: "before",
            summary: "Learn from people who have done it before.",
            duration_min_minutes: 180,
            duration_max_minutes: 240,
            people_min: 5,
            people_max: Some(20),
            body_md: body,
        }
    }

    fn fields(result: Result<(), Vec<FieldError>>) -> Vec<&'static str> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn accepts_a_valid_technique() {
        let body = body();
        assert_eq!(validate_technique_input(&valid(&body)), Ok(()));
        let open_ended = TechniqueInput {
            people_max: None,
            ..valid(&body)
        };
        assert_eq!(validate_technique_input(&open_ended), Ok(()));
    }

    #[test]
    fn slug_rules() {
        for ok in ["a", "peer-assist", "web-2-0", "randomised-coffee-trials"] {
            assert_eq!(validate_slug(ok), Ok(()), "{ok}");
        }
        let too_long = "a".repeat(MAX_SLUG_CHARS + 1);
        for bad in [
            "",
            "Peer-assist",
            "peer assist",
            "peer_assist",
            "-peer",
            "peer-",
            "peer--assist",
            "caf\u{e9}",
            too_long.as_str(),
        ] {
            assert!(validate_slug(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn reports_every_bad_field_by_name() {
        let input = TechniqueInput {
            slug: "Bad Slug",
            name: "  ",
            phase: "sometime",
            summary: "two\nlines",
            duration_min_minutes: 0,
            duration_max_minutes: MAX_DURATION_MINUTES + 1,
            people_min: 0,
            people_max: Some(-3),
            body_md: "",
        };
        assert_eq!(
            fields(validate_technique_input(&input)),
            [
                "slug",
                "name",
                "phase",
                "summary",
                "duration_min_minutes",
                "duration_max_minutes",
                "people_min",
                "people_max",
                "body_md"
            ]
        );
    }

    #[test]
    fn ranges_must_be_in_order() {
        let body = body();
        let input = TechniqueInput {
            duration_min_minutes: 60,
            duration_max_minutes: 30,
            people_min: 10,
            people_max: Some(2),
            ..valid(&body)
        };
        assert_eq!(
            fields(validate_technique_input(&input)),
            ["duration_max_minutes", "people_max"]
        );
    }

    #[test]
    fn body_needs_the_four_sections_in_order() {
        let missing = "## What it is for\n\nx\n\n## Example\n\ny\n";
        assert_eq!(
            fields(validate_technique_input(&valid(missing))),
            ["body_md"]
        );

        let swapped = body()
            .replace("How to run it", "TEMP")
            .replace("When to use it", "How to run it")
            .replace("TEMP", "When to use it");
        assert_eq!(
            fields(validate_technique_input(&valid(&swapped))),
            ["body_md"]
        );

        let extra = format!("{}\n## Further reading\n\nz\n", body());
        assert_eq!(
            fields(validate_technique_input(&valid(&extra))),
            ["body_md"]
        );

        let err = validate_technique_input(&valid(missing)).unwrap_err();
        assert!(
            err[0].message.contains("\"## How to run it\""),
            "{}",
            err[0]
        );
    }

    #[test]
    fn phase_headings_and_cycle_text_are_present() {
        assert!(!LEARNING_CYCLE.trim().is_empty());
        assert_eq!(PHASE_HEADINGS.map(|(p, _)| p), Phase::ALL);
        for (phase, heading) in PHASE_HEADINGS {
            assert_eq!(phase.heading(), heading);
            assert!(!heading.is_empty() && !heading.contains('\n'));
        }
    }
}
