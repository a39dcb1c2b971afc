//! The technique library: reading, adding and editing techniques, and the open trials the
//! Randomised Coffee Trials page points to.
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::time::to_db;
use super::{columns, Store, StoreError};
use crate::library::{Phase, TechniqueFacts, TechniqueInput};

/// One row of `techniques`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Technique {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub phase: Phase,
    /// Order within the phase, from 1.
    pub position: i64,
    pub summary: String,
    pub duration_min_minutes: i64,
    pub duration_max_minutes: i64,
    pub people_min: i64,
    /// `None` means no upper limit.
    pub people_max: Option<i64>,
    pub body_md: String,
    /// Shipped with the service, rather than added in the console.
    pub is_builtin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FromRow<'_, AnyRow> for Technique {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Technique {
            id: row.try_get("id")?,
            slug: row.try_get("slug")?,
            name: row.try_get("name")?,
            phase: columns::word(row, "phase", Phase::parse)?,
            position: row.try_get("position")?,
            summary: row.try_get("summary")?,
            duration_min_minutes: row.try_get("duration_min_minutes")?,
            duration_max_minutes: row.try_get("duration_max_minutes")?,
            people_min: row.try_get("people_min")?,
            people_max: row.try_get("people_max")?,
            body_md: row.try_get("body_md")?,
            is_builtin: columns::flag(row, "is_builtin")?,
            created_at: columns::time(row, "created_at")?,
            updated_at: columns::time(row, "updated_at")?,
        })
    }
}

impl Technique {
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The facts the chooser ranks by.
    pub fn facts(&self) -> TechniqueFacts {
        TechniqueFacts {
            slug: self.slug.clone(),
            name: self.name.clone(),
            phase: self.phase(),
            duration_min_minutes: to_u32(self.duration_min_minutes),
            duration_max_minutes: to_u32(self.duration_max_minutes),
            people_min: to_u32(self.people_min),
            people_max: self.people_max.map(to_u32),
        }
    }
}

fn to_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// A trial people can sign up to now.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct OpenTrial {
    pub slug: String,
    pub name: String,
}

/// Why a technique could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum TechniqueWriteError {
    /// Another technique already has this slug; the form shows this at the slug field.
    #[error("another technique already uses this slug")]
    SlugTaken,
    #[error("there is no technique with this slug")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TechniqueWriteError {
    fn from(e: sqlx::Error) -> Self {
        // `slug` is the only unique column besides the generated id.
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::SlugTaken,
            _ => Self::Store(e.into()),
        }
    }
}

/// Bumped by every technique written through this process, so pages kept in memory know at
/// once that they are out of date (other instances' edits are noticed through
/// [`Store::techniques_fingerprint`]).
static EDITS: AtomicU64 = AtomicU64::new(0);

/// How many techniques this process has written since it started.
pub fn edits_in_this_process() -> u64 {
    EDITS.load(Ordering::Acquire)
}

fn note_edit() {
    EDITS.fetch_add(1, Ordering::AcqRel);
}

const COLUMNS: &str = "id, slug, name, phase, position, summary, duration_min_minutes, \
    duration_max_minutes, people_min, people_max, body_md, is_builtin, created_at, updated_at";

impl Store {
    /// Every technique, in the order of the learning cycle and then by position.
    pub async fn list_techniques(&self) -> Result<Vec<Technique>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM techniques ORDER BY \
             CASE phase WHEN 'before' THEN 0 WHEN 'during' THEN 1 ELSE 2 END, position, slug"
        );
        Ok(sqlx::query_as(&sql).fetch_all(self.pool()).await?)
    }

    /// Every technique as [`Store::list_techniques`] orders them, without the Markdown bodies
    /// (`body_md` is empty): what lists and the chooser need.
    pub async fn list_techniques_without_bodies(&self) -> Result<Vec<Technique>, StoreError> {
        let columns = COLUMNS.replace("body_md", "'' AS body_md");
        let sql = format!(
            "SELECT {columns} FROM techniques ORDER BY \
             CASE phase WHEN 'before' THEN 0 WHEN 'during' THEN 1 ELSE 2 END, position, slug"
        );
        Ok(sqlx::query_as(&sql).fetch_all(self.pool()).await?)
    }

    /// Changes whenever a technique is added or edited, by any instance: their number and the
    /// latest edit time. Cheap to read, for caches to check that they are current.
    pub async fn techniques_fingerprint(&self) -> Result<String, StoreError> {
        let (count, latest): (i64, Option<String>) =
            sqlx::query_as("SELECT COUNT(*), MAX(updated_at) FROM techniques")
                .fetch_one(self.pool())
                .await?;
        Ok(format!("{count}/{}", latest.unwrap_or_default()))
    }

    pub async fn find_technique_by_slug(
        &self,
        slug: &str,
    ) -> Result<Option<Technique>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM techniques WHERE slug = $1");
        Ok(sqlx::query_as(&sql)
            .bind(slug)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Adds a technique at the end of its phase. The caller checks the input with
    /// [`crate::library::validate_technique_input`] first.
    pub async fn create_technique(
        &self,
        input: &TechniqueInput<'_>,
    ) -> Result<Technique, TechniqueWriteError> {
        let now = to_db(chrono::Utc::now());
        let sql = format!(
            "INSERT INTO techniques (slug, name, phase, position, summary, \
             duration_min_minutes, duration_max_minutes, people_min, people_max, body_md, \
             is_builtin, created_at, updated_at) \
             VALUES ($1, $2, $3, \
             (SELECT COALESCE(MAX(position), 0) + 1 FROM techniques WHERE phase = $3), \
             $4, $5, $6, $7, $8, $9, 0, $10, $10) RETURNING {COLUMNS}"
        );
        let created = sqlx::query_as(&sql)
            .bind(input.slug)
            .bind(input.name)
            .bind(input.phase)
            .bind(input.summary)
            .bind(input.duration_min_minutes)
            .bind(input.duration_max_minutes)
            .bind(input.people_min)
            .bind(input.people_max)
            .bind(input.body_md)
            .bind(now)
            .fetch_one(self.pool())
            .await?;
        note_edit();
        Ok(created)
    }

    /// Replaces every editable field of the technique now called `slug` (the input may rename
    /// it). A technique moved to another phase goes to the end of that phase.
    pub async fn update_technique(
        &self,
        slug: &str,
        input: &TechniqueInput<'_>,
    ) -> Result<Technique, TechniqueWriteError> {
        let now = to_db(chrono::Utc::now());
        // Right-hand sides see the row as it was, so `phase = $3` compares with the old phase.
        let sql = format!(
            "UPDATE techniques SET slug = $1, name = $2, \
             position = CASE WHEN phase = $3 THEN position ELSE \
             (SELECT COALESCE(MAX(other.position), 0) + 1 FROM techniques other \
             WHERE other.phase = $3) END, \
             phase = $3, summary = $4, duration_min_minutes = $5, duration_max_minutes = $6, \
             people_min = $7, people_max = $8, body_md = $9, updated_at = $10 \
             WHERE slug = $11 RETURNING {COLUMNS}"
        );
        let updated = sqlx::query_as(&sql)
            .bind(input.slug)
            .bind(input.name)
            .bind(input.phase)
            .bind(input.summary)
            .bind(input.duration_min_minutes)
            .bind(input.duration_max_minutes)
            .bind(input.people_min)
            .bind(input.people_max)
            .bind(input.body_md)
            .bind(now)
            .bind(slug)
            .fetch_optional(self.pool())
            .await?;
        note_edit();
        updated.ok_or(TechniqueWriteError::NotFound)
    }

    /// Trials taking sign-ups, by name.
    pub async fn list_open_trials(&self) -> Result<Vec<OpenTrial>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT slug, name FROM trials WHERE open_for_signup = 1 ORDER BY name, slug",
        )
        .fetch_all(self.pool())
        .await?)
    }
}
