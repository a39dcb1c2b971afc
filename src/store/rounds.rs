//! Rounds, their groups and the members of each group.
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

use super::time::to_db;
use super::{columns, Store, StoreError};
use crate::domain::{GroupMeeting, Outcome, RoundKind, RoundState};

#[derive(Clone, Debug)]
pub struct Round {
    pub id: i64,
    pub trial_id: i64,
    pub number: i64,
    pub kind: RoundKind,
    pub state: RoundState,
    /// The engine's seed, as decimal text (a u64 does not fit a signed BIGINT).
    pub seed: String,
    /// The scheduled slot this round was drawn up for.
    pub slot: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

impl FromRow<'_, AnyRow> for Round {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Round {
            id: row.try_get("id")?,
            trial_id: row.try_get("trial_id")?,
            number: row.try_get("number")?,
            kind: columns::word(row, "kind", RoundKind::parse)?,
            state: columns::word(row, "state", RoundState::parse)?,
            seed: row.try_get("seed")?,
            slot: columns::optional_time(row, "slot")?,
            created_at: columns::time(row, "created_at")?,
            published_at: columns::optional_time(row, "published_at")?,
        })
    }
}

impl Round {
    pub fn is_draft(&self) -> bool {
        self.state == RoundState::Draft
    }
}

/// One member of one group, with what partners and organisers see about them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct GroupMember {
    pub group_id: i64,
    pub position: i64,
    pub reason: String,
    pub table_label: Option<String>,
    pub membership_id: i64,
    pub public_id: String,
    pub participant_id: i64,
    pub name: String,
    /// Only once confirmed: event sign-ups are paired before they confirm, and an address typed
    /// on a phone and never confirmed is neither written to nor shown to partners.
    pub email: Option<String>,
    pub attribute_value: String,
    pub role: String,
    pub site: String,
    pub meeting_modes: String,
    pub introduction: String,
    /// They asked to skip the next round; in a draft this means after it was drawn up.
    #[serde(serialize_with = "columns::as_stored::flag")]
    pub skip_next_round: bool,
}

impl FromRow<'_, AnyRow> for GroupMember {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(GroupMember {
            group_id: row.try_get("group_id")?,
            position: row.try_get("position")?,
            reason: row.try_get("reason")?,
            table_label: row.try_get("table_label")?,
            membership_id: row.try_get("membership_id")?,
            public_id: row.try_get("public_id")?,
            participant_id: row.try_get("participant_id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            attribute_value: row.try_get("attribute_value")?,
            role: row.try_get("role")?,
            site: row.try_get("site")?,
            meeting_modes: row.try_get("meeting_modes")?,
            introduction: row.try_get("introduction")?,
            skip_next_round: columns::flag(row, "skip_next_round")?,
        })
    }
}

/// A group to save: membership ids and the engine's reason.
#[derive(Clone, Debug)]
pub struct NewGroup {
    pub membership_ids: Vec<i64>,
    pub reason: String,
    pub table_label: Option<String>,
}

/// A person available for this round, as the engine needs them.
#[derive(Clone, Debug, FromRow)]
pub struct Candidate {
    pub membership_id: i64,
    pub public_id: String,
    pub attribute_value: String,
    pub team: String,
}

/// A past group, for the engine's history.
#[derive(Clone, Debug)]
pub struct PastMembership {
    pub round_number: i64,
    pub group_id: i64,
    pub public_id: String,
    /// False when the group reported that the meeting could not happen (see
    /// [`GroupMeeting::counts_as_met_for_pairing`]).
    pub met: bool,
}

/// Who is available for a round at the time bound to `$2`: confirmed people who are neither
/// paused (a pause over by then counts as back) nor skipping. One rule for the round's
/// candidates and for who gets the notice before a scheduled round; `m` is `memberships`.
pub(crate) const AVAILABLE_FOR_ROUND: &str = "m.skip_next_round = 0 \
     AND (m.state = 'active' OR (m.state = 'paused' AND m.paused_until IS NOT NULL \
          AND m.paused_until <= $2))";

const ROUND_COLUMNS: &str =
    "id, trial_id, number, kind, state, seed, slot, created_at, published_at";

impl Store {
    /// Confirmed people who are neither paused (past their date counts as back) nor skipping.
    pub async fn round_candidates(
        &self,
        trial_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Candidate>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT m.id AS membership_id, m.public_id, m.attribute_value, m.team \
             FROM memberships m WHERE m.trial_id = $1 AND {AVAILABLE_FOR_ROUND} ORDER BY m.id"
        ))
        .bind(trial_id)
        .bind(to_db(now))
        .fetch_all(self.pool())
        .await?)
    }

    /// Private do-not-pair lists within a trial, as (membership, other membership).
    pub async fn do_not_pair_lists(&self, trial_id: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT d.membership_id, d.other_membership_id FROM do_not_pair d \
             JOIN memberships m ON m.id = d.membership_id WHERE m.trial_id = $1",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Everyone who met in the trial's published rounds, oldest round first, and whether
    /// each group met by the answers of its members.
    pub async fn round_history(&self, trial_id: i64) -> Result<Vec<PastMembership>, StoreError> {
        let rows: Vec<(i64, i64, String, Option<String>)> = sqlx::query_as(
            "SELECT r.number, g.id, m.public_id, f.outcome \
             FROM rounds r JOIN round_groups g ON g.round_id = r.id \
             JOIN round_group_members gm ON gm.group_id = g.id \
             JOIN memberships m ON m.id = gm.membership_id \
             LEFT JOIN feedback f ON f.group_id = g.id AND f.membership_id = m.id \
             WHERE r.trial_id = $1 AND r.state = 'published' \
             ORDER BY r.number, g.position, m.id",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?;
        let mut answers: std::collections::HashMap<i64, Vec<Outcome>> = Default::default();
        for (_, group_id, _, outcome) in &rows {
            let outcome = outcome.as_deref().and_then(Outcome::parse);
            answers.entry(*group_id).or_default().extend(outcome);
        }
        Ok(rows
            .into_iter()
            .map(|(round_number, group_id, public_id, _)| PastMembership {
                round_number,
                group_id,
                public_id,
                met: GroupMeeting::from_answers(answers[&group_id].iter().copied())
                    .counts_as_met_for_pairing(),
            })
            .collect())
    }

    pub async fn find_draft_round(&self, trial_id: i64) -> Result<Option<Round>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ROUND_COLUMNS} FROM rounds WHERE trial_id = $1 AND state = 'draft' ORDER BY id DESC LIMIT 1"
        ))
        .bind(trial_id)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn find_round(&self, round_id: i64) -> Result<Option<Round>, StoreError> {
        Ok(
            sqlx::query_as(&format!("SELECT {ROUND_COLUMNS} FROM rounds WHERE id = $1"))
                .bind(round_id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    pub async fn list_rounds(&self, trial_id: i64) -> Result<Vec<Round>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ROUND_COLUMNS} FROM rounds WHERE trial_id = $1 ORDER BY number DESC"
        ))
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Saves a draft round and its groups in one transaction. A scheduled slot that already
    /// has a round makes this return `None`: the database decides, so two instances racing
    /// for one slot create one round.
    pub async fn create_draft_round(
        &self,
        trial_id: i64,
        kind: RoundKind,
        seed: u64,
        slot: Option<DateTime<Utc>>,
        groups: &[NewGroup],
        now: DateTime<Utc>,
    ) -> Result<Option<Round>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let sql = format!(
            "INSERT INTO rounds (trial_id, number, kind, state, seed, slot, created_at) \
             VALUES ($1, (SELECT COALESCE(MAX(number), 0) + 1 FROM rounds WHERE trial_id = $1), \
                     $2, 'draft', $3, $4, $5) \
             ON CONFLICT DO NOTHING RETURNING {ROUND_COLUMNS}"
        );
        let round: Option<Round> = sqlx::query_as(&sql)
            .bind(trial_id)
            .bind(kind.as_str())
            .bind(seed.to_string())
            .bind(slot.map(to_db))
            .bind(to_db(now))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(round) = round else {
            return Ok(None);
        };
        insert_groups(&mut tx, round.id, groups).await?;
        tx.commit().await?;
        Ok(Some(round))
    }

    /// Replaces the groups of a draft (after a reshuffle or a swap). Published rounds are
    /// never changed: for them this returns false and touches nothing.
    pub async fn replace_draft_groups(
        &self,
        round_id: i64,
        seed: u64,
        groups: &[NewGroup],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let updated = sqlx::query("UPDATE rounds SET seed = $1 WHERE id = $2 AND state = 'draft'")
            .bind(seed.to_string())
            .bind(round_id)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM round_groups WHERE round_id = $1")
            .bind(round_id)
            .execute(&mut *tx)
            .await?;
        insert_groups(&mut tx, round_id, groups).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn round_members(&self, round_id: i64) -> Result<Vec<GroupMember>, StoreError> {
        round_members_in(self.pool(), round_id).await
    }

    /// The names of the others in a group.
    pub async fn group_partner_names(
        &self,
        group_id: i64,
        membership_id: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT p.name FROM round_group_members gm \
             JOIN memberships m ON m.id = gm.membership_id \
             JOIN participants p ON p.id = m.participant_id \
             WHERE gm.group_id = $1 AND gm.membership_id <> $2 ORDER BY p.name, m.id",
        )
        .bind(group_id)
        .bind(membership_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    /// Discards a draft. A scheduled draft's slot is remembered as discarded in the same
    /// transaction, so that the scheduler does not draw it up again.
    pub async fn delete_draft_round(
        &self,
        round_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let deleted: Option<(i64, Option<String>)> = sqlx::query_as(
            "DELETE FROM rounds WHERE id = $1 AND state = 'draft' RETURNING trial_id, slot",
        )
        .bind(round_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((trial_id, slot)) = deleted else {
            return Ok(false);
        };
        if let Some(slot) = slot {
            sqlx::query(
                "INSERT INTO discarded_slots (trial_id, slot, discarded_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (trial_id, slot) DO NOTHING",
            )
            .bind(trial_id)
            .bind(slot)
            .bind(to_db(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

pub(crate) async fn insert_groups(
    tx: &mut Transaction<'_, Any>,
    round_id: i64,
    groups: &[NewGroup],
) -> Result<(), StoreError> {
    for (position, group) in groups.iter().enumerate() {
        let (group_id,): (i64,) = sqlx::query_as(
            "INSERT INTO round_groups (round_id, position, reason, table_label) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(round_id)
        .bind(position as i64 + 1)
        .bind(&group.reason)
        .bind(group.table_label.as_deref())
        .fetch_one(&mut **tx)
        .await?;
        for membership_id in &group.membership_ids {
            sqlx::query(
                "INSERT INTO round_group_members (group_id, membership_id) VALUES ($1, $2)",
            )
            .bind(group_id)
            .bind(membership_id)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Marks a draft published inside the caller's transaction. Returns false when it was not a
/// draft any more (published already), so publishing twice does nothing the second time.
pub async fn mark_published(
    tx: &mut Transaction<'_, Any>,
    round_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE rounds SET state = 'published', published_at = $1 WHERE id = $2 AND state = 'draft'")
        .bind(to_db(now))
        .bind(round_id)
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    // The people in this round are back from a lapsed pause; people who skipped it are due
    // again next time.
    sqlx::query(
        "UPDATE memberships SET state = 'active', paused_until = NULL, updated_at = $1 \
         WHERE state = 'paused' AND id IN (SELECT gm.membership_id FROM round_group_members gm \
           JOIN round_groups g ON g.id = gm.group_id WHERE g.round_id = $2)",
    )
    .bind(to_db(now))
    .bind(round_id)
    .execute(&mut **tx)
    .await?;
    // Only a skip this round honoured is used up: someone placed anyway (in a draft drawn up
    // before they asked) keeps theirs for the round after.
    sqlx::query(
        "UPDATE memberships SET skip_next_round = 0 \
         WHERE skip_next_round = 1 AND trial_id = (SELECT trial_id FROM rounds WHERE id = $1) \
           AND id NOT IN (SELECT gm.membership_id FROM round_group_members gm \
             JOIN round_groups g ON g.id = gm.group_id WHERE g.round_id = $1)",
    )
    .bind(round_id)
    .execute(&mut **tx)
    .await?;
    super::webhooks::queue_event(tx, super::webhooks::Fact::RoundPublished { round_id }, now)
        .await?;
    Ok(true)
}

impl Store {
    pub async fn find_round_by_number(
        &self,
        trial_id: i64,
        number: i64,
    ) -> Result<Option<Round>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ROUND_COLUMNS} FROM rounds WHERE trial_id = $1 AND number = $2"
        ))
        .bind(trial_id)
        .bind(number)
        .fetch_optional(self.pool())
        .await?)
    }
}

/// A round's members in group order, on the pool or inside a transaction that has just
/// written the round.
pub async fn round_members_in<'e, E>(
    executor: E,
    round_id: i64,
) -> Result<Vec<GroupMember>, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    Ok(sqlx::query_as(
        "SELECT g.id AS group_id, g.position, g.reason, g.table_label, m.id AS membership_id, \
               m.public_id, m.participant_id, p.name, \
           CASE WHEN m.confirmed_at IS NOT NULL THEN p.email END AS email, m.attribute_value, m.role, m.site, \
               m.meeting_modes, m.introduction, m.skip_next_round \
             FROM round_groups g JOIN round_group_members gm ON gm.group_id = g.id \
             JOIN memberships m ON m.id = gm.membership_id \
             JOIN participants p ON p.id = m.participant_id \
             WHERE g.round_id = $1 ORDER BY g.position, p.name, m.id",
    )
    .bind(round_id)
    .fetch_all(executor)
    .await?)
}
