//! Scheduled trials: which trials have a schedule, which slots already have a round, and the
//! one-row-per-slot key that makes each pre-round notice go out once.
use chrono::{DateTime, Utc};
use sqlx::{Any, FromRow, Transaction};

use super::rounds::Round;
use super::time::to_db;
use super::trials::{Trial, TRIAL_COLUMNS};
use super::{Store, StoreError};

/// Someone to send a pre-round notice to.
#[derive(Clone, Debug, FromRow)]
pub struct NoticeRecipient {
    pub membership_id: i64,
    pub participant_id: i64,
    pub name: String,
    pub email: String,
}

impl Store {
    /// Programmes with a schedule (events never run on one).
    pub async fn scheduled_trials(&self) -> Result<Vec<Trial>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TRIAL_COLUMNS} FROM trials \
             WHERE kind = 'programme' AND schedule IS NOT NULL AND schedule <> '' ORDER BY id"
        ))
        .fetch_all(self.pool())
        .await?)
    }

    /// The round created for a scheduled slot, if any.
    pub async fn round_for_slot(
        &self,
        trial_id: i64,
        slot: DateTime<Utc>,
    ) -> Result<Option<Round>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, trial_id, number, kind, state, seed, slot, created_at, published_at \
             FROM rounds WHERE trial_id = $1 AND slot = $2",
        )
        .bind(trial_id)
        .bind(to_db(slot))
        .fetch_optional(self.pool())
        .await?)
    }

    /// Whether an organiser discarded the draft of this slot.
    pub async fn slot_discarded(
        &self,
        trial_id: i64,
        slot: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT trial_id FROM discarded_slots WHERE trial_id = $1 AND slot = $2",
        )
        .bind(trial_id)
        .bind(to_db(slot))
        .fetch_optional(self.pool())
        .await?;
        Ok(found.is_some())
    }

    /// Whether the notice for a slot has been queued (by this or another instance).
    pub async fn notice_sent(
        &self,
        trial_id: i64,
        slot: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM schedule_notices WHERE trial_id = $1 AND slot = $2",
        )
        .bind(trial_id)
        .bind(to_db(slot))
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }

    /// When a skip link stops working: the start of the round it skips.
    pub async fn skip_link_expiry(
        &self,
        token_hash: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT expires_at FROM one_time_tokens WHERE token_hash = $1 AND purpose = 'skip'",
        )
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(row
            .map(|(e,)| super::columns::stored_time("expires_at", &e))
            .transpose()?)
    }
}

/// Claims the notice for (trial, slot) inside `tx`. False when it was claimed before: the
/// primary key decides, so two instances ticking at once queue one set of emails.
pub async fn claim_notice(
    tx: &mut Transaction<'_, Any>,
    trial_id: i64,
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO schedule_notices (trial_id, slot, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(trial_id)
    .bind(to_db(slot))
    .bind(to_db(now))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn record_notice_recipients(
    tx: &mut Transaction<'_, Any>,
    trial_id: i64,
    slot: DateTime<Utc>,
    recipients: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE schedule_notices SET recipients = $1 WHERE trial_id = $2 AND slot = $3")
        .bind(recipients)
        .bind(trial_id)
        .bind(to_db(slot))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Confirmed people who will be available at `slot` and have not already chosen to skip: the
/// active ones, and paused ones whose pause is over by then (as `round_candidates` counts).
pub async fn notice_recipients(
    tx: &mut Transaction<'_, Any>,
    trial_id: i64,
    slot: DateTime<Utc>,
) -> Result<Vec<NoticeRecipient>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT m.id AS membership_id, p.id AS participant_id, p.name, p.email \
         FROM memberships m JOIN participants p ON p.id = m.participant_id \
         WHERE m.trial_id = $1 AND m.confirmed_at IS NOT NULL AND p.email IS NOT NULL \
           AND {AVAILABLE_FOR_ROUND} ORDER BY m.id",
        AVAILABLE_FOR_ROUND = super::rounds::AVAILABLE_FOR_ROUND
    ))
    .bind(trial_id)
    .bind(to_db(slot))
    .fetch_all(&mut **tx)
    .await?)
}
