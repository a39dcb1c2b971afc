//! Read-only queries behind the dashboard and the exports. Only published rounds count: a
//! draft can still change and nobody has been told about it.
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::columns::{self, as_stored};
use super::trials::Trial;
use super::{Store, StoreError};
use crate::domain::MembershipState;
use crate::insight::{Answer, History, Outcome, People, Placement};

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

    /// The trial's history as the dashboard's statistics need it.
    pub async fn insight_history(&self, trial: &Trial) -> Result<History, StoreError> {
        let (states, rounds, pairings, feedback) = tokio::try_join!(
            self.count_members_by_state(trial.id),
            self.list_rounds(trial.id),
            self.pairing_rows(trial.id),
            self.feedback_rows(trial.id),
        )?;
        let count = |state: MembershipState| {
            states
                .iter()
                .find(|(s, _)| *s == state)
                .map_or(0, |(_, n)| *n)
        };
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
            people: People {
                active: count(MembershipState::Active),
                paused: count(MembershipState::Paused),
                pending: count(MembershipState::Pending),
            },
            draft_rounds: rounds.iter().filter(|r| r.is_draft()).count() as i64,
            published_rounds,
            placements: pairings
                .into_iter()
                .map(|p| Placement {
                    round: p.round_number,
                    group_id: p.group_id,
                    membership_id: p.membership_id,
                    attribute_value: p.attribute_value,
                })
                .collect(),
            answers: feedback
                .into_iter()
                .map(|f| Answer {
                    round: f.round_number,
                    group_id: f.group_id,
                    membership_id: f.membership_id,
                    outcome: Some(f.outcome),
                    rating: f.rating,
                    takeaway: f.takeaway,
                    share_consent: f.share_consent,
                })
                .collect(),
            // Read by `app::dashboard::history` (store::met_pairs).
            met_pairs: Vec::new(),
        })
    }
}
