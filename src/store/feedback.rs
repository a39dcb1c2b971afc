//! Feedback: answers to "did you meet?", the feedback emails that asked for them, and the
//! "still in?" requests sent after a run of unanswered ones.
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

use super::signup::LinkPurpose;
use super::time::to_db;
use super::{columns, Store, StoreError};
use crate::domain::{MembershipState, Outcome};

/// A link tied to one membership and one group (feedback, "still in?").
pub async fn insert_group_token(
    tx: &mut Transaction<'_, Any>,
    purpose: LinkPurpose,
    membership_id: i64,
    group_id: i64,
    token_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO one_time_tokens (token_hash, purpose, membership_id, group_id, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(membership_id)
    .bind(group_id)
    .bind(to_db(now))
    .bind(to_db(expires_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a feedback link leads to: one person in one group of a published round, and what
/// they have answered so far.
#[derive(Clone, Debug)]
pub struct FeedbackTarget {
    pub membership_id: i64,
    pub group_id: i64,
    pub name: String,
    pub trial_name: String,
    pub round_number: i64,
    pub group_size: i64,
    /// The answer so far; the details below are `None` until there is one.
    pub outcome: Option<Outcome>,
    pub rating: Option<i64>,
    pub takeaway: Option<String>,
    pub share_consent: Option<bool>,
}

impl FromRow<'_, AnyRow> for FeedbackTarget {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let outcome: Option<String> = row.try_get("outcome")?;
        let share_consent: Option<i64> = row.try_get("share_consent")?;
        Ok(FeedbackTarget {
            membership_id: row.try_get("membership_id")?,
            group_id: row.try_get("group_id")?,
            name: row.try_get("name")?,
            trial_name: row.try_get("trial_name")?,
            round_number: row.try_get("round_number")?,
            group_size: row.try_get("group_size")?,
            outcome: outcome
                .map(|o| columns::stored("outcome", &o, Outcome::parse))
                .transpose()?,
            rating: row.try_get("rating")?,
            takeaway: row.try_get("takeaway")?,
            share_consent: share_consent.map(|n| n != 0),
        })
    }
}

/// A member of a group due a feedback email.
#[derive(Clone, Debug, FromRow)]
pub struct DueFeedback {
    pub round_id: i64,
    pub group_id: i64,
    pub membership_id: i64,
}

/// A "not yet" answer due to be asked again.
#[derive(Clone, Debug, FromRow)]
pub struct DueReask {
    pub feedback_id: i64,
    pub round_id: i64,
    pub group_id: i64,
    pub membership_id: i64,
    pub trial_id: i64,
}

/// One feedback email sent to an active member since their last "still in?" request.
#[derive(Clone, Debug)]
pub struct SentRequest {
    pub membership_id: i64,
    pub trial_id: i64,
    pub group_id: i64,
    pub sent_at: DateTime<Utc>,
    /// The member has answered it.
    pub answered: bool,
}

impl FromRow<'_, AnyRow> for SentRequest {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(SentRequest {
            membership_id: row.try_get("membership_id")?,
            trial_id: row.try_get("trial_id")?,
            group_id: row.try_get("group_id")?,
            sent_at: columns::time(row, "sent_at")?,
            answered: columns::flag(row, "answered")?,
        })
    }
}

/// What a "still in?" link leads to.
#[derive(Clone, Debug)]
pub struct StillInTarget {
    pub request_id: i64,
    pub membership_id: i64,
    pub trial_id: i64,
    pub name: String,
    pub trial_name: String,
    pub state: MembershipState,
    /// As `app::feedback::StillIn` writes it.
    pub answer: Option<String>,
}

impl FromRow<'_, AnyRow> for StillInTarget {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(StillInTarget {
            request_id: row.try_get("request_id")?,
            membership_id: row.try_get("membership_id")?,
            trial_id: row.try_get("trial_id")?,
            name: row.try_get("name")?,
            trial_name: row.try_get("trial_name")?,
            state: columns::word(row, "state", MembershipState::parse)?,
            answer: row.try_get("answer")?,
        })
    }
}

impl Store {
    /// The person and group behind a usable link of `purpose` that carries a group: not
    /// expired, membership not erased, the round published and not an event's quick round.
    pub async fn feedback_target(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<FeedbackTarget>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT m.id AS membership_id, g.id AS group_id, p.name, tr.name AS trial_name, \
               r.number AS round_number, \
               (SELECT COUNT(*) FROM round_group_members x WHERE x.group_id = g.id) AS group_size, \
               f.outcome, f.rating, f.takeaway, f.share_consent \
             FROM one_time_tokens t \
             JOIN memberships m ON m.id = t.membership_id \
             JOIN participants p ON p.id = m.participant_id \
             JOIN round_groups g ON g.id = t.group_id \
             JOIN round_group_members gm ON gm.group_id = g.id AND gm.membership_id = m.id \
             JOIN rounds r ON r.id = g.round_id \
             JOIN trials tr ON tr.id = r.trial_id \
             LEFT JOIN feedback f ON f.group_id = g.id AND f.membership_id = m.id \
             WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL \
               AND t.expires_at > $3 AND m.state <> 'erased' \
               AND r.state = 'published'",
        )
        .bind(token_hash)
        .bind(LinkPurpose::Feedback.as_str())
        .bind(to_db(now))
        .fetch_optional(self.pool())
        .await?)
    }

    /// Records an answer; a later answer replaces an earlier one and keeps the details.
    pub async fn upsert_feedback_answer(
        &self,
        group_id: i64,
        membership_id: i64,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO feedback (group_id, membership_id, outcome, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (group_id, membership_id) \
             DO UPDATE SET outcome = excluded.outcome, updated_at = excluded.updated_at",
        )
        .bind(group_id)
        .bind(membership_id)
        .bind(outcome)
        .bind(to_db(now))
        .execute(&mut *tx)
        .await?;
        super::webhooks::queue_event(
            &mut tx,
            super::webhooks::Fact::FeedbackRecorded {
                group_id,
                membership_id,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Saves the optional details of an answer that exists; false when there is none.
    pub async fn save_feedback_details(
        &self,
        group_id: i64,
        membership_id: i64,
        rating: Option<i64>,
        takeaway: &str,
        share_consent: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE feedback SET rating = $1, takeaway = $2, share_consent = $3, updated_at = $4 \
             WHERE group_id = $5 AND membership_id = $6",
        )
        .bind(rating)
        .bind(takeaway)
        .bind(i64::from(share_consent))
        .bind(to_db(now))
        .bind(group_id)
        .bind(membership_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every trial with its feedback delay, as (id, days).
    pub async fn feedback_delays(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT id, feedback_delay_days FROM trials ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Members of the trial's published rounds (not quick ones) published within
    /// (`after`, `before`], who can be emailed, have not answered and were not asked yet.
    pub async fn due_feedback(
        &self,
        trial_id: i64,
        after: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<Vec<DueFeedback>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id AS round_id, g.id AS group_id, m.id AS membership_id \
             FROM rounds r JOIN round_groups g ON g.round_id = r.id \
             JOIN round_group_members gm ON gm.group_id = g.id \
             JOIN memberships m ON m.id = gm.membership_id \
             JOIN participants p ON p.id = m.participant_id \
             WHERE r.trial_id = $1 AND r.state = 'published' AND r.kind <> 'quick' \
               AND r.published_at > $2 AND r.published_at <= $3 \
               AND m.state IN ('active', 'paused') AND m.confirmed_at IS NOT NULL AND p.email IS NOT NULL \
               AND NOT EXISTS (SELECT 1 FROM feedback f \
                 WHERE f.group_id = g.id AND f.membership_id = m.id) \
               AND NOT EXISTS (SELECT 1 FROM feedback_requests q \
                 WHERE q.group_id = g.id AND q.membership_id = m.id) \
             ORDER BY r.id, g.position, m.id",
        )
        .bind(trial_id)
        .bind(to_db(after))
        .bind(to_db(before))
        .fetch_all(self.pool())
        .await?)
    }

    /// "Not yet" answers given within (`answered_after`, `answered_before`] and never asked
    /// again.
    pub async fn due_reasks(
        &self,
        answered_after: DateTime<Utc>,
        answered_before: DateTime<Utc>,
    ) -> Result<Vec<DueReask>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT f.id AS feedback_id, r.id AS round_id, g.id AS group_id, \
               m.id AS membership_id, r.trial_id \
             FROM feedback f JOIN round_groups g ON g.id = f.group_id \
             JOIN rounds r ON r.id = g.round_id \
             JOIN memberships m ON m.id = f.membership_id \
             JOIN participants p ON p.id = m.participant_id \
             WHERE f.outcome = 'not_yet' AND f.asked_again_at IS NULL \
               AND f.updated_at > $1 AND f.updated_at <= $2 \
               AND r.kind <> 'quick' AND m.state IN ('active', 'paused') AND m.confirmed_at IS NOT NULL \
               AND p.email IS NOT NULL \
             ORDER BY f.id",
        )
        .bind(to_db(answered_after))
        .bind(to_db(answered_before))
        .fetch_all(self.pool())
        .await?)
    }

    /// Feedback emails sent to active members since each one's latest "still in?" request,
    /// newest first per member, for members with at least `min_unanswered` unanswered ones.
    pub async fn requests_since_still_in(
        &self,
        min_unanswered: i64,
    ) -> Result<Vec<SentRequest>, StoreError> {
        let since = "COALESCE((SELECT MAX(s.sent_at) FROM still_in_requests s \
                     WHERE s.membership_id = q.membership_id), '')";
        let answered = "CASE WHEN EXISTS (SELECT 1 FROM feedback f WHERE f.group_id = q.group_id \
                        AND f.membership_id = q.membership_id) THEN 1 ELSE 0 END";
        Ok(sqlx::query_as(&format!(
            "SELECT q.membership_id, m.trial_id, q.group_id, q.sent_at, {answered} AS answered \
             FROM feedback_requests q JOIN memberships m ON m.id = q.membership_id \
             WHERE m.state = 'active' AND q.sent_at > {since} \
               AND (SELECT COUNT(*) FROM feedback_requests q2 \
                    WHERE q2.membership_id = q.membership_id \
                      AND q2.sent_at > COALESCE((SELECT MAX(s.sent_at) FROM still_in_requests s \
                        WHERE s.membership_id = q.membership_id), '') \
                      AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.group_id = q2.group_id \
                        AND f.membership_id = q2.membership_id)) >= $1 \
             ORDER BY q.membership_id, q.sent_at DESC, q.group_id DESC"
        ))
        .bind(min_unanswered)
        .fetch_all(self.pool())
        .await?)
    }

    /// "Still in?" requests sent at or before `sent_before` that nobody answered, as
    /// (request, membership).
    pub async fn unanswered_still_in(
        &self,
        sent_before: DateTime<Utc>,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, membership_id FROM still_in_requests \
             WHERE answer IS NULL AND sent_at <= $1 ORDER BY id",
        )
        .bind(to_db(sent_before))
        .fetch_all(self.pool())
        .await?)
    }

    /// The person and request behind a usable "still in?" link.
    pub async fn still_in_target(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StillInTarget>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.id AS request_id, m.id AS membership_id, m.trial_id, p.name, \
               tr.name AS trial_name, m.state, s.answer \
             FROM one_time_tokens t \
             JOIN still_in_requests s ON s.membership_id = t.membership_id \
               AND s.trigger_group_id = t.group_id \
             JOIN memberships m ON m.id = t.membership_id \
             JOIN participants p ON p.id = m.participant_id \
             JOIN trials tr ON tr.id = m.trial_id \
             WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL \
               AND t.expires_at > $3 AND m.state <> 'erased'",
        )
        .bind(token_hash)
        .bind(LinkPurpose::StillIn.as_str())
        .bind(to_db(now))
        .fetch_optional(self.pool())
        .await?)
    }
}

/// Claims the feedback email for one member of one group; false when it was sent already
/// (by this or another instance).
pub async fn claim_feedback_request(
    tx: &mut Transaction<'_, Any>,
    group_id: i64,
    membership_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO feedback_requests (group_id, membership_id, sent_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(group_id)
    .bind(membership_id)
    .bind(to_db(now))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims the one repeat of a "not yet" answer; false when it was claimed already or the
/// answer has changed since.
pub async fn claim_reask(
    tx: &mut Transaction<'_, Any>,
    feedback_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE feedback SET asked_again_at = $1 \
         WHERE id = $2 AND asked_again_at IS NULL AND outcome = 'not_yet'",
    )
    .bind(to_db(now))
    .bind(feedback_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims the "still in?" email for one run of silence; false when it was sent already.
pub async fn claim_still_in(
    tx: &mut Transaction<'_, Any>,
    membership_id: i64,
    trigger_group_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO still_in_requests (membership_id, trigger_group_id, sent_at) \
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(membership_id)
    .bind(trigger_group_id)
    .bind(to_db(now))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records an answer to a "still in?" request and gives the member the state it asks for
/// (`active`, `paused` until they resume, or `left`), in `tx`. The request row is written
/// first, so a pause for silence running at the same moment waits for this answer instead of
/// pausing someone who has just said "stay". False, with nothing to commit, when the member
/// is not taking part (only "leave" is accepted from someone who has left already).
pub async fn record_still_in_choice(
    tx: &mut Transaction<'_, Any>,
    request_id: i64,
    membership_id: i64,
    answer: &str,
    state: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let at = now;
    let now = to_db(now);
    sqlx::query("UPDATE still_in_requests SET answer = $1, answered_at = $2 WHERE id = $3")
        .bind(answer)
        .bind(&now)
        .bind(request_id)
        .execute(&mut **tx)
        .await?;
    let before: Option<(String,)> = sqlx::query_as("SELECT state FROM memberships WHERE id = $1")
        .bind(membership_id)
        .fetch_optional(&mut **tx)
        .await?;
    let done = sqlx::query(
        "UPDATE memberships SET state = $1, paused_until = NULL, \
         left_at = CASE WHEN $1 = 'left' AND state <> 'left' THEN $2 ELSE left_at END, \
         updated_at = $2 \
         WHERE id = $3 AND (state IN ('active', 'paused') OR ($1 = 'left' AND state = 'left'))",
    )
    .bind(state)
    .bind(&now)
    .bind(membership_id)
    .execute(&mut **tx)
    .await?;
    let changed = done.rows_affected() == 1;
    if changed && state == "left" && before.is_some_and(|(s,)| s != "left") {
        super::webhooks::queue_event(
            tx,
            super::webhooks::Fact::ParticipantLeft { membership_id },
            at,
        )
        .await?;
    }
    Ok(changed)
}

/// Closes an unanswered "still in?" request and pauses the member (until they resume);
/// false when someone answered it in the meantime.
pub async fn pause_for_silence(
    tx: &mut Transaction<'_, Any>,
    request_id: i64,
    membership_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let now = to_db(now);
    let done = sqlx::query(
        "UPDATE still_in_requests SET answer = 'no_answer', answered_at = $1 \
         WHERE id = $2 AND answer IS NULL",
    )
    .bind(&now)
    .bind(request_id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    let paused = sqlx::query(
        "UPDATE memberships SET state = 'paused', paused_until = NULL, updated_at = $1 \
         WHERE id = $2 AND state = 'active'",
    )
    .bind(&now)
    .bind(membership_id)
    .execute(&mut **tx)
    .await?;
    Ok(paused.rows_affected() == 1)
}
