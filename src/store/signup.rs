//! Participants' own actions: links by email (confirm, manage, unsubscribe), their details,
//! pausing, skipping, leaving, the do-not-pair list, exporting and erasing.
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

use super::columns::{self, as_stored};
use super::participants::{Member, MEMBER_SELECT};
use super::time::to_db;
use super::{Store, StoreError};
use crate::domain::{MeetingMode, MembershipState, Outcome, ParticipantDetails};

/// What a participant's link is for. Only the hash of each token is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Confirms the email address; works once.
    Confirm,
    /// Opens the manage page; works until it expires.
    Manage,
    /// Stops emails (one click or a confirming page); works until it expires.
    Unsubscribe,
    /// Answers "did you meet?" for one group of one round; answers may change until it expires.
    Feedback,
    /// Skips the next scheduled round; sent with the pre-round notice.
    Skip,
    /// Answers the "still in?" email sent after several unanswered rounds.
    StillIn,
    /// Opens a person's page at an event ("I'm here", then their partner and table).
    Event,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Confirm => "confirm",
            LinkPurpose::Manage => "manage",
            LinkPurpose::Unsubscribe => "unsubscribe",
            LinkPurpose::Feedback => "feedback",
            LinkPurpose::Skip => "skip",
            LinkPurpose::StillIn => "still_in",
            LinkPurpose::Event => "event",
        }
    }
}

pub async fn insert_link_token(
    tx: &mut Transaction<'_, Any>,
    purpose: LinkPurpose,
    membership_id: i64,
    token_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO one_time_tokens (token_hash, purpose, membership_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(membership_id)
    .bind(to_db(now))
    .bind(to_db(expires_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The person behind a membership: their participant id and name.
pub async fn person_of_membership(
    tx: &mut Transaction<'_, Any>,
    membership_id: i64,
) -> Result<(i64, String), StoreError> {
    Ok(sqlx::query_as(
        "SELECT p.id, p.name FROM memberships m JOIN participants p ON p.id = m.participant_id \
         WHERE m.id = $1",
    )
    .bind(membership_id)
    .fetch_one(&mut **tx)
    .await?)
}

/// Stores the hashes of several links of one membership in one statement (the sign-up's
/// manage, unsubscribe and confirmation links), each as (purpose, hash, expiry).
pub async fn insert_link_tokens(
    tx: &mut Transaction<'_, Any>,
    membership_id: i64,
    now: DateTime<Utc>,
    links: &[(LinkPurpose, &str, DateTime<Utc>)],
) -> Result<(), StoreError> {
    if links.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..links.len())
        .map(|i| {
            let b = 3 + i * 3;
            format!("(${}, ${}, $1, $2, ${})", b, b + 1, b + 2)
        })
        .collect();
    let sql = format!(
        "INSERT INTO one_time_tokens (token_hash, purpose, membership_id, created_at, expires_at) \
         VALUES {}",
        rows.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(membership_id).bind(to_db(now));
    for (purpose, hash, expires_at) in links {
        query = query
            .bind(hash.to_string())
            .bind(purpose.as_str())
            .bind(to_db(*expires_at));
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Someone else in the same trial, as a participant may see them: a name and nothing more.
#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct OtherMember {
    pub public_id: String,
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct PastPartner {
    pub round_number: i64,
    pub published_at: Option<DateTime<Utc>>,
    pub name: String,
}

impl FromRow<'_, AnyRow> for PastPartner {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(PastPartner {
            round_number: row.try_get("round_number")?,
            published_at: columns::optional_time(row, "published_at")?,
            name: row.try_get("name")?,
        })
    }
}

/// One of a person's own answers, as their data export writes it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OwnFeedback {
    pub round_number: i64,
    #[serde(serialize_with = "as_stored::word")]
    pub outcome: Outcome,
    pub rating: Option<i64>,
    pub takeaway: String,
    #[serde(serialize_with = "as_stored::flag")]
    pub share_consent: bool,
    #[serde(serialize_with = "as_stored::time")]
    pub created_at: DateTime<Utc>,
}

impl FromRow<'_, AnyRow> for OwnFeedback {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(OwnFeedback {
            round_number: row.try_get("round_number")?,
            outcome: columns::word(row, "outcome", Outcome::parse)?,
            rating: row.try_get("rating")?,
            takeaway: row.try_get("takeaway")?,
            share_consent: columns::flag(row, "share_consent")?,
            created_at: columns::time(row, "created_at")?,
        })
    }
}

impl Store {
    /// The membership behind a link that can still be used (not expired, not used, not erased).
    pub async fn member_by_link(
        &self,
        purpose: LinkPurpose,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Member>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "{MEMBER_SELECT} JOIN one_time_tokens t ON t.membership_id = m.id \
             WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL \
             AND t.expires_at > $3 AND m.state <> 'erased'"
        ))
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(to_db(now))
        .fetch_optional(self.pool())
        .await?)
    }
}

/// Uses up a confirmation link and makes the membership active (a pending sign-up, or someone
/// who had left and signed up again). Returns the membership, or None for an unusable link.
pub async fn use_confirm_link(
    tx: &mut Transaction<'_, Any>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, StoreError> {
    let now = to_db(now);
    let used: Option<(Option<i64>, String)> = sqlx::query_as(
        "UPDATE one_time_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = 'confirm' AND used_at IS NULL AND expires_at > $1 \
         RETURNING membership_id, created_at",
    )
    .bind(&now)
    .bind(token_hash)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((Some(membership_id), issued_at)) = used else {
        return Ok(None);
    };
    // Already active or paused: the link counts as followed and nothing else changes, except
    // that an event sign-up (active before confirming) now has a proven address. Someone who
    // has left comes back only through a link issued after they left (they signed up again):
    // an old link from before proves the address and nothing more.
    sqlx::query(
        "UPDATE memberships SET confirmed_at = COALESCE(confirmed_at, $1) \
         WHERE id = $2 AND state = 'left' AND left_at > $3",
    )
    .bind(&now)
    .bind(membership_id)
    .bind(&issued_at)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE memberships SET state = 'active', confirmed_at = COALESCE(confirmed_at, $1), \
         paused_until = NULL, left_at = NULL, updated_at = $1 \
         WHERE id = $2 AND (state = 'pending' \
           OR (state = 'left' AND (left_at IS NULL OR left_at <= $3)) \
           OR (state = 'active' AND confirmed_at IS NULL))",
    )
    .bind(&now)
    .bind(membership_id)
    .bind(&issued_at)
    .execute(&mut **tx)
    .await?;
    let (state,): (String,) = sqlx::query_as("SELECT state FROM memberships WHERE id = $1")
        .bind(membership_id)
        .fetch_one(&mut **tx)
        .await?;
    let state = columns::stored("state", &state, MembershipState::parse)?;
    Ok((state != MembershipState::Erased).then_some(membership_id))
}

impl Store {
    pub async fn update_member_details(
        &self,
        member: &Member,
        d: &ParticipantDetails,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = to_db(now);
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE participants SET name = $1, updated_at = $2, search_key = $4 WHERE id = $3",
        )
        .bind(d.name.as_str())
        .bind(&now)
        .bind(member.participant_id)
        .bind(super::search::search_key(
            d.name.as_str(),
            member.email.as_deref(),
        ))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE memberships SET attribute_value = $1, role = $2, site = $3, \
             meeting_modes = $4, introduction = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(&d.attribute_value)
        .bind(&d.role)
        .bind(&d.site)
        .bind(MeetingMode::join(&d.meeting_modes))
        .bind(&d.introduction)
        .bind(&now)
        .bind(member.membership_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_skip_next_round(
        &self,
        membership_id: i64,
        skip: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE memberships SET skip_next_round = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(skip))
            .bind(to_db(now))
            .bind(membership_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Back to active from `left` (or `paused`); an address never confirmed counts as confirmed
    /// now, because only its owner holds the manage link.
    pub async fn rejoin_member(
        &self,
        membership_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE memberships SET state = 'active', paused_until = NULL, left_at = NULL, \
             confirmed_at = COALESCE(confirmed_at, $1), updated_at = $1 \
             WHERE id = $2 AND state IN ('left', 'paused')",
        )
        .bind(to_db(now))
        .bind(membership_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// People of the same trial who may appear on a do-not-pair list: confirmed and still
    /// taking part, or already on the list.
    pub async fn do_not_pair_candidates(
        &self,
        member: &Member,
    ) -> Result<Vec<OtherMember>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT m.public_id, p.name FROM memberships m \
             JOIN participants p ON p.id = m.participant_id \
             WHERE m.trial_id = $1 AND m.id <> $2 AND (m.state IN ('active', 'paused') \
               OR m.id IN (SELECT other_membership_id FROM do_not_pair WHERE membership_id = $2)) \
             ORDER BY LOWER(p.name), m.id",
        )
        .bind(member.trial_id)
        .bind(member.membership_id)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn do_not_pair_list(
        &self,
        membership_id: i64,
    ) -> Result<Vec<OtherMember>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT m.public_id, p.name FROM do_not_pair d \
             JOIN memberships m ON m.id = d.other_membership_id \
             JOIN participants p ON p.id = m.participant_id \
             WHERE d.membership_id = $1 ORDER BY LOWER(p.name), m.id",
        )
        .bind(membership_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Replaces the list with the given people of the same trial; unknown ids are ignored.
    /// Returns how many were saved.
    pub async fn set_do_not_pair(
        &self,
        member: &Member,
        public_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM do_not_pair WHERE membership_id = $1")
            .bind(member.membership_id)
            .execute(&mut *tx)
            .await?;
        let mut saved = 0;
        for public_id in public_ids {
            let done = sqlx::query(
                "INSERT INTO do_not_pair (membership_id, other_membership_id, created_at) \
                 SELECT $1, id, $2 FROM memberships \
                 WHERE trial_id = $3 AND public_id = $4 AND id <> $1 AND state <> 'erased' \
                 ON CONFLICT DO NOTHING",
            )
            .bind(member.membership_id)
            .bind(to_db(now))
            .bind(member.trial_id)
            .bind(public_id)
            .execute(&mut *tx)
            .await?;
            saved += done.rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(saved)
    }

    /// Every membership of one person, across trials (for the export).
    pub async fn memberships_of_participant(
        &self,
        participant_id: i64,
    ) -> Result<Vec<Member>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "{MEMBER_SELECT} WHERE m.participant_id = $1 ORDER BY m.id"
        ))
        .bind(participant_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The people this membership was grouped with in published rounds.
    pub async fn past_partners(&self, membership_id: i64) -> Result<Vec<PastPartner>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.number AS round_number, r.published_at, p.name \
             FROM round_group_members mine \
             JOIN round_groups g ON g.id = mine.group_id \
             JOIN rounds r ON r.id = g.round_id \
             JOIN round_group_members other \
               ON other.group_id = g.id AND other.membership_id <> mine.membership_id \
             JOIN memberships om ON om.id = other.membership_id \
             JOIN participants p ON p.id = om.participant_id \
             WHERE mine.membership_id = $1 AND r.state = 'published' \
             ORDER BY r.number, LOWER(p.name)",
        )
        .bind(membership_id)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn own_feedback(&self, membership_id: i64) -> Result<Vec<OwnFeedback>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.number AS round_number, f.outcome, f.rating, f.takeaway, f.share_consent, \
             f.created_at FROM feedback f JOIN round_groups g ON g.id = f.group_id \
             JOIN rounds r ON r.id = g.round_id WHERE f.membership_id = $1 ORDER BY r.number",
        )
        .bind(membership_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Removes a person's personal data everywhere while keeping the rows that history and
    /// statistics count: memberships (now `erased`), group members and feedback ratings.
    pub async fn erase_participant(
        &self,
        participant_id: i64,
        placeholder_name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = to_db(now);
        let mut tx = self.pool().begin().await?;
        let (email,): (Option<String>,) =
            sqlx::query_as("SELECT email FROM participants WHERE id = $1")
                .bind(participant_id)
                .fetch_one(&mut *tx)
                .await?;
        let email = email.unwrap_or_default();
        let mine = "SELECT id FROM memberships WHERE participant_id = $1";
        for sql in [
            format!("DELETE FROM one_time_tokens WHERE membership_id IN ({mine})"),
            format!(
                "DELETE FROM do_not_pair WHERE membership_id IN ({mine}) \
                 OR other_membership_id IN ({mine})"
            ),
            format!("UPDATE feedback SET takeaway = '' WHERE membership_id IN ({mine})"),
        ] {
            sqlx::query(&sql)
                .bind(participant_id)
                .execute(&mut *tx)
                .await?;
        }
        // A grouping value typed by the person is free text; one from the organiser's list is
        // a category that statistics still need.
        sqlx::query(
            "UPDATE memberships SET state = 'erased', role = '', site = '', team = '', \
             introduction = '', meeting_modes = '', paused_until = NULL, skip_next_round = 0, \
             attribute_value = CASE WHEN (SELECT t.attribute_values FROM trials t \
               WHERE t.id = memberships.trial_id) = '' THEN '' ELSE attribute_value END, \
             left_at = COALESCE(left_at, $1), claimed_email = NULL, updated_at = $1 \
             WHERE participant_id = $2",
        )
        .bind(&now)
        .bind(participant_id)
        .execute(&mut *tx)
        .await?;
        // Mail not yet sent to them is dropped; copies of mail already sent lose the address
        // and the text.
        sqlx::query(
            "DELETE FROM outbox WHERE (participant_id = $1 OR to_address = $2) \
             AND state IN ('queued', 'failed')",
        )
        .bind(participant_id)
        .bind(&email)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE outbox SET to_address = '', subject = '', body_text = '', body_html = '', \
             headers_json = '{}', last_error = NULL \
             WHERE (participant_id = $1 OR to_address = $2) AND state = 'sent'",
        )
        .bind(participant_id)
        .bind(&email)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE participants SET name = $1, email = NULL, needs_attention = NULL, \
             erased_at = $2, updated_at = $2, search_key = $4 WHERE id = $3",
        )
        .bind(placeholder_name)
        .bind(&now)
        .bind(participant_id)
        .bind(super::search::search_key(placeholder_name, None))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// True for states in which a person still takes part in some way.
pub fn is_current(state: Option<MembershipState>) -> bool {
    matches!(
        state,
        Some(MembershipState::Pending | MembershipState::Active | MembershipState::Paused)
    )
}

impl Store {
    /// The trial a membership belongs to.
    pub async fn trial_by_id(
        &self,
        trial_id: i64,
    ) -> Result<Option<super::trials::Trial>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {} FROM trials WHERE id = $1",
            super::trials::TRIAL_COLUMNS
        ))
        .bind(trial_id)
        .fetch_optional(self.pool())
        .await?)
    }
}

impl Store {
    /// Pending people of a trial with an address and no usable confirmation link, as
    /// (membership, participant, name, email).
    pub async fn pending_without_confirmation(
        &self,
        trial_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, i64, String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT m.id, p.id, p.name, p.email FROM memberships m \
             JOIN participants p ON p.id = m.participant_id \
             WHERE m.trial_id = $1 AND m.state = 'pending' AND p.email IS NOT NULL \
               AND NOT EXISTS (SELECT 1 FROM one_time_tokens t WHERE t.membership_id = m.id \
                 AND t.purpose = 'confirm' AND t.used_at IS NULL AND t.expires_at > $2) \
             ORDER BY m.id",
        )
        .bind(trial_id)
        .bind(to_db(now))
        .fetch_all(self.pool())
        .await?)
    }
}
