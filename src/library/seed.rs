//! The built-in techniques, read from the seed migration.
//!
//! The migration `migrations/*/0002_seed_techniques.sql` is the source of
//! truth for what goes into the database. This module parses that same SQL
//! (a deliberately small subset: `INSERT INTO techniques (...) VALUES (...);`
//! statements with single-quoted strings, integers and `NULL`, plus `--`
//! comments) so the content can be tested and used without a database, for
//! example to feed the chooser in tests or in a demo.

use std::collections::HashMap;

use super::chooser::{Phase, TechniqueFacts};
use super::{validate_technique_input, TechniqueInput};

/// The SQLite seed migration. The PostgreSQL one is identical (checked by a
/// test).
pub const SEED_SQL: &str = include_str!("../../migrations/sqlite/0002_seed_techniques.sql");

/// One built-in technique as seeded into the `techniques` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedTechnique {
    pub slug: String,
    pub name: String,
    pub phase: Phase,
    pub position: u32,
    pub summary: String,
    pub duration_min_minutes: u32,
    pub duration_max_minutes: u32,
    pub people_min: u32,
    pub people_max: Option<u32>,
    pub body_md: String,
    pub is_builtin: bool,
    pub created_at: String,
    pub updated_at: String,
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

/// Why seed SQL could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedError {
    #[error("seed SQL, byte {offset}: {message}")]
    Syntax { offset: usize, message: String },
    #[error("seed row {row}, column {column}: {message}")]
    Value {
        row: usize,
        column: String,
        message: String,
    },
}

/// The built-in techniques in seed order (phase by phase, by position).
///
/// # Panics
///
/// Only if the bundled seed SQL is malformed, which the tests rule out.
pub fn builtin_techniques() -> Vec<SeedTechnique> {
    parse_seed_sql(SEED_SQL).expect("bundled seed SQL is valid (see library::seed tests)")
}

/// Parses `INSERT INTO techniques (...) VALUES (...);` statements, one row
/// each, and checks every row with [`validate_technique_input`].
pub fn parse_seed_sql(sql: &str) -> Result<Vec<SeedTechnique>, SeedError> {
    let tokens = tokenize(sql)?;
    let mut parser = TokenParser {
        tokens: &tokens,
        pos: 0,
        end: sql.len(),
    };
    let mut rows = Vec::new();
    while !parser.at_end() {
        let (columns, values) = parser.insert_statement()?;
        rows.push(row_to_technique(rows.len() + 1, columns, values)?);
    }
    Ok(rows)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Str(String),
    Int(i64),
    Punct(char),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Text(String),
    Int(i64),
    Null,
}

fn syntax(offset: usize, message: impl Into<String>) -> SeedError {
    SeedError::Syntax {
        offset,
        message: message.into(),
    }
}

fn tokenize(sql: &str) -> Result<Vec<(usize, Token)>, SeedError> {
    let mut tokens = Vec::new();
    let mut chars = sql.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if sql[start..].starts_with("--") {
            while chars.next_if(|&(_, c)| c != '\n').is_some() {}
        } else if c == '\'' {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next() {
                    Some((_, '\'')) => {
                        if chars.next_if(|&(_, c)| c == '\'').is_some() {
                            text.push('\'');
                        } else {
                            break;
                        }
                    }
                    Some((_, c)) => text.push(c),
                    None => return Err(syntax(start, "unterminated string")),
                }
            }
            tokens.push((start, Token::Str(text)));
        } else if c.is_ascii_digit() || c == '-' {
            chars.next();
            let mut digits = String::from(c);
            while let Some((_, d)) = chars.next_if(|&(_, d)| d.is_ascii_digit()) {
                digits.push(d);
            }
            let n = digits
                .parse()
                .map_err(|_| syntax(start, format!("bad number {digits:?}")))?;
            tokens.push((start, Token::Int(n)));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut word = String::new();
            while let Some((_, w)) = chars.next_if(|&(_, w)| w.is_ascii_alphanumeric() || w == '_')
            {
                word.push(w);
            }
            tokens.push((start, Token::Word(word)));
        } else if matches!(c, '(' | ')' | ',' | ';') {
            chars.next();
            tokens.push((start, Token::Punct(c)));
        } else {
            return Err(syntax(start, format!("unexpected character {c:?}")));
        }
    }
    Ok(tokens)
}

/// The column names (with their offsets in the SQL) and values of one INSERT.
type InsertRow = (Vec<(usize, String)>, Vec<Value>);

struct TokenParser<'t> {
    tokens: &'t [(usize, Token)],
    pos: usize,
    end: usize,
}

impl TokenParser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(o, _)| *o)
    }

    fn next(&mut self) -> Option<&Token> {
        let token = self.tokens.get(self.pos).map(|(_, t)| t);
        self.pos += 1;
        token
    }

    fn keyword(&mut self, kw: &str) -> Result<(), SeedError> {
        let offset = self.offset();
        match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw) => Ok(()),
            other => Err(syntax(offset, format!("expected {kw}, found {other:?}"))),
        }
    }

    fn punct(&mut self, p: char) -> Result<(), SeedError> {
        let offset = self.offset();
        match self.next() {
            Some(Token::Punct(c)) if *c == p => Ok(()),
            other => Err(syntax(offset, format!("expected {p:?}, found {other:?}"))),
        }
    }

    /// Parses `item (, item)* )` after an opening parenthesis.
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, SeedError>,
    ) -> Result<Vec<T>, SeedError> {
        let mut items = vec![item(self)?];
        loop {
            let offset = self.offset();
            match self.next() {
                Some(Token::Punct(',')) => items.push(item(self)?),
                Some(Token::Punct(')')) => return Ok(items),
                other => {
                    return Err(syntax(
                        offset,
                        format!("expected ',' or ')', found {other:?}"),
                    ))
                }
            }
        }
    }

    fn insert_statement(&mut self) -> Result<InsertRow, SeedError> {
        let start = self.offset();
        self.keyword("INSERT")?;
        self.keyword("INTO")?;
        self.keyword("techniques")?;
        self.punct('(')?;
        let columns = self.list(|p| {
            let offset = p.offset();
            match p.next() {
                Some(Token::Word(w)) => Ok((offset, w.to_ascii_lowercase())),
                other => Err(syntax(
                    offset,
                    format!("expected a column name, found {other:?}"),
                )),
            }
        })?;
        self.keyword("VALUES")?;
        self.punct('(')?;
        let values = self.list(|p| {
            let offset = p.offset();
            match p.next() {
                Some(Token::Str(s)) => Ok(Value::Text(s.clone())),
                Some(Token::Int(n)) => Ok(Value::Int(*n)),
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("NULL") => Ok(Value::Null),
                other => Err(syntax(offset, format!("expected a value, found {other:?}"))),
            }
        })?;
        self.punct(';')?;
        if columns.len() != values.len() {
            return Err(syntax(
                start,
                format!("{} columns but {} values", columns.len(), values.len()),
            ));
        }
        Ok((columns, values))
    }
}

const COLUMNS: [&str; 13] = [
    "slug",
    "name",
    "phase",
    "position",
    "summary",
    "duration_min_minutes",
    "duration_max_minutes",
    "people_min",
    "people_max",
    "body_md",
    "is_builtin",
    "created_at",
    "updated_at",
];

struct Row {
    number: usize,
    values: HashMap<String, Value>,
}

impl Row {
    fn error(&self, column: &str, message: impl Into<String>) -> SeedError {
        SeedError::Value {
            row: self.number,
            column: column.to_string(),
            message: message.into(),
        }
    }

    fn text(&self, column: &str) -> Result<String, SeedError> {
        match self.values.get(column) {
            Some(Value::Text(s)) => Ok(s.clone()),
            _ => Err(self.error(column, "expected a string")),
        }
    }

    fn int(&self, column: &str) -> Result<i64, SeedError> {
        match self.values.get(column) {
            Some(Value::Int(n)) => Ok(*n),
            _ => Err(self.error(column, "expected an integer")),
        }
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>, SeedError> {
        match self.values.get(column) {
            Some(Value::Null) => Ok(None),
            _ => self.int(column).map(Some),
        }
    }

    fn small(&self, column: &str, n: i64) -> Result<u32, SeedError> {
        u32::try_from(n).map_err(|_| self.error(column, format!("{n} is out of range")))
    }
}

fn row_to_technique(
    number: usize,
    columns: Vec<(usize, String)>,
    values: Vec<Value>,
) -> Result<SeedTechnique, SeedError> {
    let mut map = HashMap::new();
    for ((offset, column), value) in columns.into_iter().zip(values) {
        if !COLUMNS.contains(&column.as_str()) {
            return Err(syntax(offset, format!("unknown column {column}")));
        }
        if map.insert(column.clone(), value).is_some() {
            return Err(syntax(offset, format!("column {column} given twice")));
        }
    }
    let row = Row {
        number,
        values: map,
    };
    if let Some(missing) = COLUMNS.iter().find(|c| !row.values.contains_key(**c)) {
        return Err(row.error(missing, "missing"));
    }

    let slug = row.text("slug")?;
    let name = row.text("name")?;
    let phase_text = row.text("phase")?;
    let summary = row.text("summary")?;
    let body_md = row.text("body_md")?;
    let duration_min = row.int("duration_min_minutes")?;
    let duration_max = row.int("duration_max_minutes")?;
    let people_min = row.int("people_min")?;
    let people_max = row.opt_int("people_max")?;

    validate_technique_input(&TechniqueInput {
        slug: &slug,
        name: &name,
        phase: &phase_text,
        summary: &summary,
        duration_min_minutes: duration_min,
        duration_max_minutes: duration_max,
        people_min,
        people_max,
        body_md: &body_md,
    })
    .map_err(|errors| {
        let first = &errors[0];
        row.error(first.field, format!("{} ({slug})", first.message))
    })?;

    let position = row.int("position")?;
    let is_builtin = row.int("is_builtin")?;
    Ok(SeedTechnique {
        phase: Phase::parse(&phase_text).ok_or_else(|| row.error("phase", "unknown phase"))?,
        position: row.small("position", position)?,
        duration_min_minutes: row.small("duration_min_minutes", duration_min)?,
        duration_max_minutes: row.small("duration_max_minutes", duration_max)?,
        people_min: row.small("people_min", people_min)?,
        people_max: people_max.map(|n| row.small("people_max", n)).transpose()?,
        is_builtin: match is_builtin {
            0 => false,
            1 => true,
            _ => return Err(row.error("is_builtin", "expected 0 or 1")),
        },
        created_at: row.text("created_at")?,
        updated_at: row.text("updated_at")?,
        slug,
        name,
        summary,
        body_md,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::library::{chooser, markdown, BODY_SECTIONS};

    const POSTGRES_SEED_SQL: &str =
        include_str!("../../migrations/postgres/0002_seed_techniques.sql");

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
    fn sqlite_and_postgres_seeds_are_identical() {
        assert_eq!(SEED_SQL, POSTGRES_SEED_SQL);
    }

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
            assert!(t.is_builtin, "{s}");
            assert_eq!(t.created_at, "2026-11-25T00:00:00Z", "{s}");
            assert_eq!(t.updated_at, "2026-11-25T00:00:00Z", "{s}");
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
    fn seed_sql_is_portable() {
        // Only INSERT statements, no backslashes (whose meaning differs
        // between databases) and nothing that needs a particular encoding.
        assert!(!SEED_SQL.contains('\\'));
        assert!(SEED_SQL.is_ascii());
        let statements = SEED_SQL
            .lines()
            .filter(|l| !l.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(statements.matches("INSERT INTO techniques").count(), 14);
        for keyword in ["CREATE", "DELETE", "UPDATE", "DROP", "BEGIN", "COMMIT"] {
            assert!(
                !statements.lines().any(|l| l.starts_with(keyword)),
                "{keyword}"
            );
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
    fn parser_handles_quotes_nulls_and_comments() {
        let body = BODY_SECTIONS
            .iter()
            .map(|s| format!("## {s}\n\nIt''s fine.\n"))
            .collect::<Vec<_>>()
            .join("\n");
        let sql = format!(
            "-- comment\ninsert into techniques (slug, name, phase, position, summary, duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at)\nvalues ('x-y', 'Leaver''s toolkit', 'after', 3, 'A -- b.', 30, 120, 1, NULL, '{body}', 1, 't', 't'); -- trailing\n"
        );
        let rows = parse_seed_sql(&sql).expect("valid");
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.name, "Leaver's toolkit");
        assert_eq!(row.summary, "A -- b.");
        assert_eq!(row.people_max, None);
        assert!(row.body_md.contains("It's fine."));
        assert_eq!(row.phase, Phase::After);
        assert_eq!(row.position, 3);
    }

    #[test]
    fn parser_reports_errors() {
        let cases = [
            "INSERT INTO techniques (slug) VALUES ('a', 'b');",
            "INSERT INTO techniques (slug) VALUES ('a')",
            "INSERT INTO others (slug) VALUES ('a');",
            "INSERT INTO techniques (slug) VALUES ('a);",
            "INSERT INTO techniques (slug, bogus) VALUES ('a', 1);",
            "INSERT INTO techniques (slug) VALUES ('a');",
            "DELETE FROM techniques;",
            "INSERT INTO techniques (slug) VALUES (\"a\");",
        ];
        for sql in cases {
            assert!(parse_seed_sql(sql).is_err(), "{sql}");
        }
        assert_eq!(parse_seed_sql("-- nothing\n"), Ok(vec![]));

        let bad_row = SEED_SQL.replacen("'before',\n1,", "'sometime',\n1,", 1);
        match parse_seed_sql(&bad_row) {
            Err(SeedError::Value { row, column, .. }) => {
                assert_eq!((row, column.as_str()), (1, "phase"));
            }
            other => panic!("expected a phase error, got {other:?}"),
        }
    }
}
