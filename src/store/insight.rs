//! Read-only queries behind the dashboard and the exports. Only published rounds count: a
//! draft can still change and nobody has been told about it.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::columns::{self, as_stored};
use super::trials::Trial;
use super::{Store, StoreError};
use crate::domain::MembershipState;
use crate::insight::{Answer, History, Outcome, People, Placement, RoundHistory};

/// One member of one group of a published round, as exported.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PairingRow {
    #[serde(rename = "round")]
    pub round_number: i64,
    #[serde(serialize_with = "as_stored::time")]
    pub published_at: DateTime<Utc>,
    /// The group's position in its round, from 1.
    #[serde(rename = "group")]
    pub group_number: i64,
    #[serde(rename = "table")]
    pub table_label: Option<String>,
    #[serde(rename = "id")]
    pub public_id: String,
    pub name: String,
    pub attribute_value: String,
    #[serde(skip)]
    pub group_id: i64,
    #[serde(skip)]
    pub membership_id: i64,
}

impl FromRow<'_, AnyRow> for PairingRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(PairingRow {
            round_number: row.try_get("round_number")?,
            published_at: columns::time(row, "published_at")?,
            group_number: row.try_get("group_number")?,
            table_label: row.try_get("table_label")?,
            public_id: row.try_get("public_id")?,
            name: row.try_get("name")?,
            attribute_value: row.try_get("attribute_value")?,
            group_id: row.try_get("group_id")?,
            membership_id: row.try_get("membership_id")?,
        })
    }
}

/// One member's answer about one group, as exported.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FeedbackRow {
    #[serde(rename = "round")]
    pub round_number: i64,
    #[serde(rename = "group")]
    pub group_number: i64,
    #[serde(rename = "id")]
    pub public_id: String,
    pub name: String,
    #[serde(serialize_with = "as_stored::word")]
    pub outcome: Outcome,
    pub rating: Option<i64>,
    /// Empty unless the person agreed to share it: the query never reads the others.
    pub takeaway: String,
    #[serde(serialize_with = "as_stored::time")]
    pub answered_at: DateTime<Utc>,
    #[serde(skip)]
    pub group_id: i64,
    #[serde(skip)]
    pub membership_id: i64,
    #[serde(skip)]
    pub share_consent: bool,
}

impl FromRow<'_, AnyRow> for FeedbackRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(FeedbackRow {
            round_number: row.try_get("round_number")?,
            group_number: row.try_get("group_number")?,
            public_id: row.try_get("public_id")?,
            name: row.try_get("name")?,
            outcome: columns::word(row, "outcome", Outcome::parse)?,
            rating: row.try_get("rating")?,
            takeaway: row.try_get("takeaway")?,
            answered_at: columns::time(row, "answered_at")?,
            group_id: row.try_get("group_id")?,
            membership_id: row.try_get("membership_id")?,
            share_consent: columns::flag(row, "share_consent")?,
        })
    }
}

/// An answer row (group, membership, outcome, rating, shared takeaway, share flag) of round
/// `round`, as the figures take it.
type AnswerRow = (i64, i64, String, Option<i64>, String, i64);

fn answer(round: i64, row: AnswerRow) -> Answer {
    let (group_id, membership_id, outcome, rating, takeaway, share) = row;
    Answer {
        round,
        group_id,
        membership_id,
        outcome: Outcome::parse(&outcome),
        rating,
        takeaway,
        share_consent: share == 1,
    }
}

/// A round of a trial and the version of its figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundVersion {
    pub id: i64,
    pub number: i64,
    pub published: bool,
    pub version: i64,
}

/// One published round's figures as stored in the database: `part` is its
/// [`crate::insight::RoundPart`] in the layout `format` names, computed at `version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRoundFigures {
    pub round_id: i64,
    pub version: i64,
    pub format: i64,
    pub part: String,
}

impl Store {
    /// Everyone in every group of the trial's published rounds, by round, group and name.
    pub async fn pairing_rows(&self, trial_id: i64) -> Result<Vec<PairingRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.number AS round_number, r.published_at, \
               g.position AS group_number, g.table_label, m.public_id, p.name, \
               m.attribute_value, g.id AS group_id, m.id AS membership_id \
             FROM rounds r JOIN round_groups g ON g.round_id = r.id \
             JOIN round_group_members gm ON gm.group_id = g.id \
             JOIN memberships m ON m.id = gm.membership_id \
             JOIN participants p ON p.id = m.participant_id \
             WHERE r.trial_id = $1 AND r.state = 'published' \
             ORDER BY r.number, g.position, p.name, m.id",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Every answer about the trial's published rounds. A takeaway is only read when its
    /// author agreed to share it.
    pub async fn feedback_rows(&self, trial_id: i64) -> Result<Vec<FeedbackRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.number AS round_number, g.position AS group_number, m.public_id, p.name, \
               f.outcome, f.rating, \
               CASE WHEN f.share_consent = 1 THEN f.takeaway ELSE '' END AS takeaway, \
               f.updated_at AS answered_at, g.id AS group_id, m.id AS membership_id, \
               f.share_consent \
             FROM feedback f JOIN round_groups g ON g.id = f.group_id \
             JOIN rounds r ON r.id = g.round_id \
             JOIN memberships m ON m.id = f.membership_id \
             JOIN participants p ON p.id = m.participant_id \
             WHERE r.trial_id = $1 AND r.state = 'published' \
             ORDER BY r.number, g.position, p.name, m.id",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The trial's dashboard version: it moves (by triggers, in the same transaction) with
    /// every change to its rounds, their answers or its members' grouping values. 0 before the
    /// first such change.
    pub async fn trial_version(&self, trial_id: i64) -> Result<i64, StoreError> {
        let (version,): (i64,) = sqlx::query_as(
            "SELECT COALESCE(MAX(version), 0) FROM trial_versions WHERE trial_id = $1",
        )
        .bind(trial_id)
        .fetch_one(self.pool())
        .await?;
        Ok(version)
    }

    /// How many people of the trial are active, paused and pending: read afresh every time
    /// (sign-ups change it often, and it is one indexed count).
    pub async fn dashboard_people(&self, trial_id: i64) -> Result<People, StoreError> {
        let states = self.count_members_by_state(trial_id).await?;
        let count = |state: MembershipState| {
            states
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |(_, n)| *n)
        };
        Ok(People {
            active: count(MembershipState::Active),
            paused: count(MembershipState::Paused),
            pending: count(MembershipState::Pending),
        })
    }

    /// Everyone in every group of the trial's published rounds, with just what the figures
    /// need: no names and no sorting, which made this the slowest part at 50 rounds.
    async fn placements(&self, trial_id: i64) -> Result<Vec<Placement>, StoreError> {
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(
            "SELECT r.number, g.id, gm.membership_id, m.attribute_value \
             FROM rounds r JOIN round_groups g ON g.round_id = r.id \
             JOIN round_group_members gm ON gm.group_id = g.id \
             JOIN memberships m ON m.id = gm.membership_id \
             WHERE r.trial_id = $1 AND r.state = 'published'",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(round, group_id, membership_id, attribute_value)| Placement {
                    round,
                    group_id,
                    membership_id,
                    attribute_value,
                },
            )
            .collect())
    }

    /// Every answer about the trial's published rounds; a takeaway only when shared.
    async fn answers(&self, trial_id: i64) -> Result<Vec<Answer>, StoreError> {
        type Row = (i64, i64, i64, String, Option<i64>, String, i64);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT r.number, f.group_id, f.membership_id, f.outcome, f.rating, \
               CASE WHEN f.share_consent = 1 THEN f.takeaway ELSE '' END, f.share_consent \
             FROM rounds r JOIN round_groups g ON g.round_id = r.id \
             JOIN feedback f ON f.group_id = g.id \
             WHERE r.trial_id = $1 AND r.state = 'published'",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(round, g, m, outcome, rating, note, share)| {
                answer(round, (g, m, outcome, rating, note, share))
            })
            .collect())
    }

    /// The trial's rounds, oldest first, with the version of each one's figures (0 before
    /// anything moved it).
    pub async fn round_versions(&self, trial_id: i64) -> Result<Vec<RoundVersion>, StoreError> {
        let rows: Vec<(i64, i64, String, i64)> = sqlx::query_as(
            "SELECT r.id, r.number, r.state, COALESCE(v.version, 0) \
             FROM rounds r LEFT JOIN round_versions v ON v.round_id = r.id \
             WHERE r.trial_id = $1 ORDER BY r.number",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, number, state, version)| RoundVersion {
                id,
                number,
                published: state == "published",
                version,
            })
            .collect())
    }

    /// Everything one round's figures are computed from: who was in which group, the
    /// answers (a takeaway only when shared) and the pairs named by "some of us met".
    pub async fn round_figures_history(
        &self,
        round_id: i64,
        number: i64,
    ) -> Result<RoundHistory, StoreError> {
        let placements: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT g.id, gm.membership_id FROM round_groups g \
             JOIN round_group_members gm ON gm.group_id = g.id WHERE g.round_id = $1",
        )
        .bind(round_id)
        .fetch_all(self.pool())
        .await?;
        let answers: Vec<AnswerRow> = sqlx::query_as(
            "SELECT f.group_id, f.membership_id, f.outcome, f.rating, \
               CASE WHEN f.share_consent = 1 THEN f.takeaway ELSE '' END, f.share_consent \
             FROM round_groups g JOIN feedback f ON f.group_id = g.id WHERE g.round_id = $1",
        )
        .bind(round_id)
        .fetch_all(self.pool())
        .await?;
        let met_pairs: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT mp.group_id, mp.first_membership_id, mp.second_membership_id \
             FROM round_groups g JOIN feedback_met_pairs mp ON mp.group_id = g.id \
             JOIN feedback f ON f.group_id = mp.group_id AND f.membership_id = mp.membership_id \
             WHERE g.round_id = $1 AND f.outcome = 'some_met'",
        )
        .bind(round_id)
        .fetch_all(self.pool())
        .await?;
        Ok(RoundHistory {
            number,
            placements,
            answers: answers.into_iter().map(|row| answer(number, row)).collect(),
            met_pairs,
        })
    }

    /// One round's figures as a service stored them (migration 0081), if any are stored.
    pub async fn stored_round_figures(
        &self,
        round_id: i64,
    ) -> Result<Option<StoredRoundFigures>, StoreError> {
        let row: Option<(i64, i64, String)> =
            sqlx::query_as("SELECT version, format, part FROM round_figures WHERE round_id = $1")
                .bind(round_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(version, format, part)| StoredRoundFigures {
            round_id,
            version,
            format,
            part,
        }))
    }

    /// Stores rounds' figures, in one transaction. A round's row is only written while
    /// `version` is still the round's version: figures computed from rows that changed
    /// meanwhile (the change deleted the stored ones, see 0081) are not put back. Returns how
    /// many were written.
    pub async fn save_round_figures(
        &self,
        figures: &[StoredRoundFigures],
    ) -> Result<u64, StoreError> {
        let mut tx = self.writer().begin().await?;
        let mut written = 0;
        for f in figures {
            written += sqlx::query(
                "INSERT INTO round_figures (round_id, version, format, part) \
                 SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM rounds WHERE id = $1) \
                   AND $2 = (SELECT COALESCE(MAX(version), 0) FROM round_versions \
                     WHERE round_id = $1) \
                 ON CONFLICT (round_id) DO UPDATE SET version = excluded.version, \
                   format = excluded.format, part = excluded.part",
            )
            .bind(f.round_id)
            .bind(f.version)
            .bind(f.format)
            .bind(&f.part)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Every member of the trial with their grouping value now.
    pub async fn grouping_values(&self, trial_id: i64) -> Result<HashMap<i64, String>, StoreError> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, attribute_value FROM memberships WHERE trial_id = $1")
                .bind(trial_id)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().collect())
    }

    /// The trial's history as the dashboard's statistics need it.
    pub async fn insight_history(&self, trial: &Trial) -> Result<History, StoreError> {
        let (people, rounds, placements, answers) = tokio::try_join!(
            self.dashboard_people(trial.id),
            self.list_rounds(trial.id),
            self.placements(trial.id),
            self.answers(trial.id),
        )?;
        let mut published_rounds: Vec<i64> = rounds
            .iter()
            .filter(|r| !r.is_draft())
            .map(|r| r.number)
            .collect();
        published_rounds.sort_unstable();
        Ok(History {
            attribute_values: trial
                .attribute_value_list()
                .into_iter()
                .map(str::to_string)
                .collect(),
            people,
            draft_rounds: rounds.iter().filter(|r| r.is_draft()).count() as i64,
            published_rounds,
            placements,
            answers,
            // Read by `app::dashboard::history` (store::met_pairs).
            met_pairs: Vec::new(),
        })
    }
}
