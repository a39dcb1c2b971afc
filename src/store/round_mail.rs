//! What rounds need besides their groups: each trial's round settings, how members can meet,
//! who makes the first move in each group, the midway nudge, and who got a pre-round notice.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

use super::time::to_db;
use super::{columns, Store, StoreError};
use crate::domain::{Nudge, RoundSettings};

/// How one member can meet, as the sign-up form stored it.
#[derive(Clone, Debug, FromRow)]
pub struct MeetingDetails {
    pub membership_id: i64,
    /// Comma-separated `MeetingMode`s; empty when they did not say.
    pub meeting_modes: String,
    pub site: String,
}

/// Someone due a midway nudge.
#[derive(Clone, Debug, FromRow)]
pub struct DueNudge {
    pub round_id: i64,
    pub group_id: i64,
    pub membership_id: i64,
}

/// A trial whose midway nudge is on.
#[derive(Clone, Debug, FromRow)]
pub struct NudgeTrial {
    pub trial_id: i64,
    pub nudge: Nudge,
    pub feedback_delay_days: i64,
}

impl FromRow<'_, AnyRow> for NudgeTrial {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(NudgeTrial {
            trial_id: row.try_get("trial_id")?,
            nudge: columns::word(row, "nudge", |s| Nudge::parse(s).ok())?,
            feedback_delay_days: row.try_get("feedback_delay_days")?,
        })
    }
}

/// A pre-round notice already queued, for a slot that has not started.
#[derive(Clone, Debug)]
pub struct OpenNotice {
    pub slot: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl FromRow<'_, AnyRow> for OpenNotice {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(OpenNotice {
            slot: columns::time(row, "slot")?,
            created_at: columns::time(row, "created_at")?,
        })
    }
}

#[derive(FromRow)]
struct SettingsRow {
    same_site_only: i64,
    slot_days: String,
    slot_start: String,
    slot_end: String,
    nudge: String,
}

impl Store {
    /// The trial's round settings; the defaults when none were saved.
    pub async fn round_settings(&self, trial_id: i64) -> Result<RoundSettings, StoreError> {
        let row: Option<SettingsRow> = sqlx::query_as(
            "SELECT same_site_only, slot_days, slot_start, slot_end, nudge \
             FROM trial_round_settings WHERE trial_id = $1",
        )
        .bind(trial_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map_or_else(RoundSettings::default, |r| {
            RoundSettings::from_stored(
                r.same_site_only != 0,
                &r.slot_days,
                &r.slot_start,
                &r.slot_end,
                &r.nudge,
            )
        }))
    }

    pub async fn save_round_settings(
        &self,
        trial_id: i64,
        s: &RoundSettings,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO trial_round_settings \
               (trial_id, same_site_only, slot_days, slot_start, slot_end, nudge) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (trial_id) DO UPDATE SET same_site_only = $2, slot_days = $3, \
               slot_start = $4, slot_end = $5, nudge = $6",
        )
        .bind(trial_id)
        .bind(i64::from(s.same_site_only))
        .bind(s.days_stored())
        .bind(s.start.format("%H:%M").to_string())
        .bind(s.end.format("%H:%M").to_string())
        .bind(s.nudge.as_stored())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The ways and site of every member of the trial, by membership.
    pub async fn meeting_details(
        &self,
        trial_id: i64,
    ) -> Result<HashMap<i64, MeetingDetails>, StoreError> {
        let rows: Vec<MeetingDetails> = sqlx::query_as(
            "SELECT id AS membership_id, meeting_modes, site FROM memberships WHERE trial_id = $1",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|r| (r.membership_id, r)).collect())
    }

    /// For each member of the trial who has made a first move, the number of the latest round
    /// in which they did.
    pub async fn last_first_moves(&self, trial_id: i64) -> Result<HashMap<i64, i64>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT f.membership_id, MAX(r.number) FROM group_first_movers f \
             JOIN round_groups g ON g.id = f.group_id JOIN rounds r ON r.id = g.round_id \
             WHERE r.trial_id = $1 GROUP BY f.membership_id",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// The first mover of each group of a round, by group.
    pub async fn first_movers(&self, round_id: i64) -> Result<HashMap<i64, i64>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT f.group_id, f.membership_id FROM group_first_movers f \
             JOIN round_groups g ON g.id = f.group_id WHERE g.round_id = $1",
        )
        .bind(round_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// Trials whose midway nudge is on.
    pub async fn nudge_trials(&self) -> Result<Vec<NudgeTrial>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.trial_id, s.nudge, t.feedback_delay_days FROM trial_round_settings s \
             JOIN trials t ON t.id = s.trial_id WHERE s.nudge <> 'off' ORDER BY s.trial_id",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// Members of groups of rounds published in (after, before] who are due the nudge: the
    /// group has not said it met, and they are still active (not paused, not left), confirmed,
    /// have not answered, have not been asked for feedback yet, and have not been nudged.
    pub async fn due_nudges(
        &self,
        trial_id: i64,
        after: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<Vec<DueNudge>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id AS round_id, g.id AS group_id, m.id AS membership_id \
             FROM rounds r JOIN round_groups g ON g.round_id = r.id \
             JOIN round_group_members gm ON gm.group_id = g.id \
             JOIN memberships m ON m.id = gm.membership_id \
             WHERE r.trial_id = $1 AND r.state = 'published' AND r.kind <> 'quick' \
               AND r.published_at > $2 AND r.published_at <= $3 \
               AND m.state = 'active' AND m.confirmed_at IS NOT NULL \
               AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.group_id = g.id \
                               AND (f.outcome IN ('met', 'some_met') OR f.membership_id = m.id)) \
               AND NOT EXISTS (SELECT 1 FROM feedback_requests q \
                               WHERE q.group_id = g.id AND q.membership_id = m.id) \
               AND NOT EXISTS (SELECT 1 FROM group_nudges n \
                               WHERE n.group_id = g.id AND n.membership_id = m.id) \
             ORDER BY r.id, g.position, m.id",
        )
        .bind(trial_id)
        .bind(to_db(after))
        .bind(to_db(before))
        .fetch_all(self.pool())
        .await?)
    }

    /// The trial's pre-round notices whose slot is still ahead of `now`.
    pub async fn open_notices(
        &self,
        trial_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<OpenNotice>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT slot, created_at FROM schedule_notices WHERE trial_id = $1 AND slot > $2 \
             ORDER BY slot",
        )
        .bind(trial_id)
        .bind(to_db(now))
        .fetch_all(self.pool())
        .await?)
    }
}

/// Records the first mover of a group inside the transaction that publishes it.
pub async fn record_first_mover(
    tx: &mut Transaction<'_, Any>,
    group_id: i64,
    membership_id: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO group_first_movers (group_id, membership_id) VALUES ($1, $2) \
         ON CONFLICT (group_id) DO NOTHING",
    )
    .bind(group_id)
    .bind(membership_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Claims the nudge for one member of one group; false when it was sent before.
pub async fn claim_nudge(
    tx: &mut Transaction<'_, Any>,
    group_id: i64,
    membership_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO group_nudges (group_id, membership_id, sent_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(group_id)
    .bind(membership_id)
    .bind(to_db(now))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims the notice of (trial, slot) for one person; false when they had it already.
pub async fn claim_notice_for(
    tx: &mut Transaction<'_, Any>,
    trial_id: i64,
    slot: DateTime<Utc>,
    membership_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO schedule_notice_recipients (trial_id, slot, membership_id, sent_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(trial_id)
    .bind(to_db(slot))
    .bind(membership_id)
    .bind(to_db(now))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// People who confirmed after the notice of `slot` went out (at `notice_created_at`) and who
/// will be in that round, without a notice yet.
pub async fn late_notice_recipients(
    tx: &mut Transaction<'_, Any>,
    trial_id: i64,
    slot: DateTime<Utc>,
    notice_created_at: DateTime<Utc>,
) -> Result<Vec<super::schedule::NoticeRecipient>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT m.id AS membership_id, p.id AS participant_id, p.name, p.email \
         FROM memberships m JOIN participants p ON p.id = m.participant_id \
         WHERE m.trial_id = $1 AND m.confirmed_at IS NOT NULL AND p.email IS NOT NULL \
           AND m.confirmed_at > $3 AND m.skip_next_round = 0 \
           AND (m.state = 'active' OR (m.state = 'paused' AND m.paused_until IS NOT NULL \
                AND m.paused_until <= $2)) \
           AND NOT EXISTS (SELECT 1 FROM schedule_notice_recipients s \
                           WHERE s.trial_id = $1 AND s.slot = $2 AND s.membership_id = m.id) \
         ORDER BY m.id",
    )
    .bind(trial_id)
    .bind(to_db(slot))
    .bind(to_db(notice_created_at))
    .fetch_all(&mut **tx)
    .await?)
}
