//! Trials: programmes of rounds, or events.
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::time::to_db;
use super::{columns, Store, StoreError};
use crate::domain::{TrialKind, TrialSettings};

/// A trial as the rest of the service sees it: its kind, flags and times already read.
#[derive(Clone, Debug)]
pub struct Trial {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub kind: TrialKind,
    pub attribute_name: String,
    /// One value per line; empty for free text.
    pub attribute_values: String,
    pub group_size: i64,
    pub open_for_signup: bool,
    /// Listed on the front page while open for sign-up.
    pub show_on_home: bool,
    /// IANA zone name: schedules, emails and calendar files use it; the database keeps UTC.
    pub time_zone: String,
    /// As the organiser wrote it (cron or words); parsed by `domain::Schedule`.
    pub schedule: Option<String>,
    pub auto_publish: bool,
    /// How long before a scheduled round its notice (with a skip link) goes out.
    pub notice_hours: i64,
    /// Days after a round's publication before its feedback email goes out.
    pub feedback_delay_days: i64,
    pub event_date: Option<String>,
    pub event_place: Option<String>,
    pub event_planned_rounds: Option<i64>,
    pub event_round_minutes: Option<i64>,
    /// When the schedule (or time zone) was last set: only slots after it run.
    pub schedule_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl FromRow<'_, AnyRow> for Trial {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Trial {
            id: row.try_get("id")?,
            slug: row.try_get("slug")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            kind: columns::word(row, "kind", TrialKind::from_stored)?,
            attribute_name: row.try_get("attribute_name")?,
            attribute_values: row.try_get("attribute_values")?,
            group_size: row.try_get("group_size")?,
            open_for_signup: columns::flag(row, "open_for_signup")?,
            show_on_home: columns::flag(row, "show_on_home")?,
            time_zone: row.try_get("time_zone")?,
            schedule: row.try_get("schedule")?,
            auto_publish: columns::flag(row, "auto_publish")?,
            notice_hours: row.try_get("notice_hours")?,
            feedback_delay_days: row.try_get("feedback_delay_days")?,
            event_date: row.try_get("event_date")?,
            event_place: row.try_get("event_place")?,
            event_planned_rounds: row.try_get("event_planned_rounds")?,
            event_round_minutes: row.try_get("event_round_minutes")?,
            schedule_since: columns::optional_time(row, "schedule_since")?,
            created_at: columns::time(row, "created_at")?,
            updated_at: columns::time(row, "updated_at")?,
        })
    }
}

impl Trial {
    pub fn attribute_value_list(&self) -> Vec<&str> {
        self.attribute_values
            .lines()
            .filter(|l| !l.is_empty())
            .collect()
    }

    pub fn is_open(&self) -> bool {
        self.open_for_signup
    }

    pub fn is_event(&self) -> bool {
        self.kind == TrialKind::Event
    }

    /// The event's date as people read it ("Thursday 3 December 2026").
    pub fn event_date_label(&self) -> Option<String> {
        let raw = self.event_date.as_deref()?;
        Some(
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map(|d| d.format("%A %-d %B %Y").to_string())
                .unwrap_or_else(|_| raw.to_string()),
        )
    }
}

#[derive(Clone, Debug)]
pub struct TrialSummary {
    pub slug: String,
    pub name: String,
    pub kind: TrialKind,
    pub open_for_signup: bool,
    pub participants: i64,
    pub rounds: i64,
}

impl FromRow<'_, AnyRow> for TrialSummary {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(TrialSummary {
            slug: row.try_get("slug")?,
            name: row.try_get("name")?,
            kind: columns::word(row, "kind", TrialKind::from_stored)?,
            open_for_signup: columns::flag(row, "open_for_signup")?,
            participants: row.try_get("participants")?,
            rounds: row.try_get("rounds")?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SaveTrialError {
    #[error("another trial already uses this address")]
    SlugTaken,
    #[error("no such trial")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Bumped after every trial saved through this process, so that copies kept in memory (the
/// sign-ups' [`crate::app::signups::SignUpDesk::trial`]) are read again at once. Other
/// instances' edits reach those copies when they expire.
static EDITS: AtomicU64 = AtomicU64::new(0);

/// How many trial edits this process has saved since it started.
pub fn edits_in_this_process() -> u64 {
    EDITS.load(Ordering::Acquire)
}

pub(crate) const TRIAL_COLUMNS: &str =
    "id, slug, name, description, kind, attribute_name, attribute_values, \
     group_size, open_for_signup, time_zone, schedule, auto_publish, notice_hours, \
     feedback_delay_days, event_date, event_place, event_planned_rounds, event_round_minutes, \
     schedule_since, created_at, updated_at, show_on_home";

impl Store {
    pub async fn create_trial(
        &self,
        t: &TrialSettings,
        now: DateTime<Utc>,
    ) -> Result<Trial, SaveTrialError> {
        let sql = format!(
            "INSERT INTO trials (slug, name, description, kind, attribute_name, attribute_values, \
             group_size, open_for_signup, created_at, updated_at, schedule_since, \
             time_zone, schedule, auto_publish, notice_hours, feedback_delay_days, event_date, \
             event_place, event_planned_rounds, event_round_minutes, show_on_home) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9, $10, $11, $12, $13, $14, $15, \
             $16, $17, $18, $19) \
             ON CONFLICT (slug) DO NOTHING RETURNING {TRIAL_COLUMNS}"
        );
        let query = sqlx::query_as(&sql)
            .bind(t.slug.as_str())
            .bind(&t.name)
            .bind(&t.description)
            .bind(t.kind.as_str())
            .bind(&t.attribute_name)
            .bind(t.attribute_values.join("\n"))
            .bind(t.group_size)
            .bind(i64::from(t.open_for_signup))
            .bind(to_db(now));
        let trial: Option<Trial> = bind_schedule_settings(query, t)
            .bind(i64::from(t.show_on_home))
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::from)?;
        trial.ok_or(SaveTrialError::SlugTaken)
    }

    /// Saves new settings for the trial now at `slug` (which may itself change).
    pub async fn update_trial(
        &self,
        slug: &str,
        t: &TrialSettings,
        now: DateTime<Utc>,
    ) -> Result<Trial, SaveTrialError> {
        let sql = format!(
            "UPDATE trials SET slug = $1, name = $2, description = $3, kind = $4, \
             attribute_name = $5, attribute_values = $6, group_size = $7, open_for_signup = $8, \
             updated_at = $9, \
             schedule_since = CASE WHEN time_zone = $10 \
               AND COALESCE(schedule, '') = COALESCE($11, '') THEN schedule_since ELSE $9 END, \
             time_zone = $10, schedule = $11, auto_publish = $12, notice_hours = $13, \
             feedback_delay_days = $14, event_date = $15, event_place = $16, \
             event_planned_rounds = $17, event_round_minutes = $18, show_on_home = $20 \
             WHERE slug = $19 RETURNING {TRIAL_COLUMNS}"
        );
        let query = sqlx::query_as::<_, Trial>(&sql)
            .bind(t.slug.as_str())
            .bind(&t.name)
            .bind(&t.description)
            .bind(t.kind.as_str())
            .bind(&t.attribute_name)
            .bind(t.attribute_values.join("\n"))
            .bind(t.group_size)
            .bind(i64::from(t.open_for_signup))
            .bind(to_db(now));
        let result = bind_schedule_settings(query, t)
            .bind(slug)
            .bind(i64::from(t.show_on_home))
            .fetch_optional(self.pool())
            .await;
        EDITS.fetch_add(1, Ordering::AcqRel);
        match result {
            Ok(Some(trial)) => Ok(trial),
            Ok(None) => Err(SaveTrialError::NotFound),
            Err(e) if is_unique_violation(&e) => Err(SaveTrialError::SlugTaken),
            Err(e) => Err(StoreError::from(e).into()),
        }
    }

    pub async fn find_trial(&self, slug: &str) -> Result<Option<Trial>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TRIAL_COLUMNS} FROM trials WHERE slug = $1"
        ))
        .bind(slug)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn list_trials(&self) -> Result<Vec<TrialSummary>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT t.slug, t.name, t.kind, t.open_for_signup, \
               (SELECT COUNT(*) FROM memberships m WHERE m.trial_id = t.id \
                  AND m.state IN ('pending', 'active', 'paused')) AS participants, \
               (SELECT COUNT(*) FROM rounds r WHERE r.trial_id = t.id) AS rounds \
             FROM trials t ORDER BY t.created_at DESC, t.id DESC",
        )
        .fetch_all(self.pool())
        .await?)
    }
}

type TrialQuery<'q> = sqlx::query::QueryAs<'q, sqlx::Any, Trial, sqlx::any::AnyArguments<'q>>;

/// Binds $10..$18 of both statements above: time zone, schedule, auto-publish, notice,
/// feedback delay and the event fields.
fn bind_schedule_settings<'q>(query: TrialQuery<'q>, t: &TrialSettings) -> TrialQuery<'q> {
    query
        .bind(t.time_zone.name().to_string())
        .bind(t.schedule.as_ref().map(|s| s.as_written().to_string()))
        .bind(i64::from(t.auto_publish))
        .bind(t.notice_hours)
        .bind(t.feedback_delay_days)
        .bind(t.event_date.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(t.event_place.clone())
        .bind(t.event_planned_rounds)
        .bind(t.event_round_minutes)
}

impl Trial {
    /// The trial's zone; an unknown name (never saved by this code) reads as UTC.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// The next `n` scheduled runs after `now`, or none without a (readable) schedule.
    pub fn next_runs(&self, now: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let Some(schedule) = self
            .schedule
            .as_deref()
            .and_then(|s| crate::domain::Schedule::parse(s).ok())
        else {
            return Vec::new();
        };
        let since = self.schedule_since.unwrap_or(now);
        schedule.next_runs(self.tz(), now.max(since), n)
    }
}

/// True when a statement failed on a UNIQUE constraint, on either backend.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
