//! People (participants, one per email address) and their memberships of trials.
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

use super::time::to_db;
use super::{columns, Store, StoreError};
use crate::domain::{MeetingMode, MembershipState, ParticipantDetails};

/// The update behind [`Store::set_member_state`], for a membership not in one of `not_in`.
async fn set_state_where(
    tx: &mut Transaction<'_, Any>,
    membership_id: i64,
    state: MembershipState,
    paused_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    not_in: &'static str,
) -> Result<bool, StoreError> {
    let now = to_db(now);
    let sql = format!(
        "UPDATE memberships SET state = $1, paused_until = $2, \
         left_at = CASE WHEN $1 = 'left' THEN $3 ELSE left_at END, updated_at = $3 \
         WHERE id = $4 AND state NOT IN ({not_in})"
    );
    let done = sqlx::query(&sql)
        .bind(state.as_str())
        .bind(
            paused_until
                .filter(|_| state == MembershipState::Paused)
                .map(to_db),
        )
        .bind(&now)
        .bind(membership_id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A person in a trial: the membership joined with the participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub membership_id: i64,
    /// Random and stable: safe to show in addresses and exports.
    pub public_id: String,
    pub trial_id: i64,
    pub participant_id: i64,
    /// None once erased.
    pub email: Option<String>,
    pub name: String,
    pub state: MembershipState,
    pub attribute_value: String,
    pub role: String,
    pub site: String,
    pub team: String,
    pub meeting_modes: String,
    pub introduction: String,
    pub paused_until: Option<DateTime<Utc>>,
    pub skip_next_round: bool,
    pub consent_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Why email to this person needs an organiser's look (an address the mail server
    /// refused); cleared when mail to them goes through.
    pub needs_attention: Option<String>,
}

impl FromRow<'_, AnyRow> for Member {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Member {
            membership_id: row.try_get("membership_id")?,
            public_id: row.try_get("public_id")?,
            trial_id: row.try_get("trial_id")?,
            participant_id: row.try_get("participant_id")?,
            email: row.try_get("email")?,
            name: row.try_get("name")?,
            state: columns::word(row, "state", MembershipState::parse)?,
            attribute_value: row.try_get("attribute_value")?,
            role: row.try_get("role")?,
            site: row.try_get("site")?,
            team: row.try_get("team")?,
            meeting_modes: row.try_get("meeting_modes")?,
            introduction: row.try_get("introduction")?,
            paused_until: columns::optional_time(row, "paused_until")?,
            skip_next_round: columns::flag(row, "skip_next_round")?,
            consent_at: columns::optional_time(row, "consent_at")?,
            confirmed_at: columns::optional_time(row, "confirmed_at")?,
            created_at: columns::time(row, "created_at")?,
            updated_at: columns::time(row, "updated_at")?,
            needs_attention: row.try_get("needs_attention")?,
        })
    }
}

impl Member {
    pub fn meeting_mode_list(&self) -> Vec<MeetingMode> {
        MeetingMode::parse_list(std::slice::from_ref(&self.meeting_modes)).unwrap_or_default()
    }
}

pub(crate) const MEMBER_SELECT: &str = "SELECT m.id AS membership_id, m.public_id, m.trial_id, \
     m.participant_id, p.email, p.name, m.state, m.attribute_value, m.role, m.site, m.team, \
     m.meeting_modes, m.introduction, m.paused_until, m.skip_next_round, m.consent_at, \
     m.confirmed_at, m.created_at, m.updated_at, p.needs_attention \
     FROM memberships m JOIN participants p ON p.id = m.participant_id";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    Added {
        membership_id: i64,
        public_id: String,
    },
    /// The address was already in this trial; nothing was changed.
    AlreadyMember {
        membership_id: i64,
        state: MembershipState,
    },
}

/// Adds a person to a trial inside the caller's transaction. The participant row is shared
/// across trials by email address; an existing membership is left as it is.
pub async fn add_member(
    tx: &mut Transaction<'_, Any>,
    trial_id: i64,
    d: &ParticipantDetails,
    state: MembershipState,
    consent_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<AddOutcome, StoreError> {
    let now = to_db(now);
    let inserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO participants (public_id, email, name, created_at, updated_at, search_key) \
         VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(new_public_id())
    .bind(d.email.as_str())
    .bind(d.name.as_str())
    .bind(&now)
    .bind(super::search::search_key(
        d.name.as_str(),
        Some(d.email.as_str()),
    ))
    .fetch_optional(&mut **tx)
    .await?;
    let participant_id = match inserted {
        Some((id,)) => id,
        None => {
            sqlx::query_as::<_, (i64,)>("SELECT id FROM participants WHERE email = $1")
                .bind(d.email.as_str())
                .fetch_one(&mut **tx)
                .await?
                .0
        }
    };
    let public_id = new_public_id();
    let confirmed_at = (state != MembershipState::Pending).then(|| now.clone());
    let added: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO memberships (public_id, trial_id, participant_id, state, attribute_value, \
         role, site, team, meeting_modes, introduction, consent_at, confirmed_at, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
         ON CONFLICT (trial_id, participant_id) DO NOTHING RETURNING id",
    )
    .bind(&public_id)
    .bind(trial_id)
    .bind(participant_id)
    .bind(state.as_str())
    .bind(&d.attribute_value)
    .bind(&d.role)
    .bind(&d.site)
    .bind(&d.team)
    .bind(MeetingMode::join(&d.meeting_modes))
    .bind(&d.introduction)
    .bind(consent_at.map(to_db))
    .bind(confirmed_at)
    .bind(&now)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((membership_id,)) = added {
        return Ok(AddOutcome::Added {
            membership_id,
            public_id,
        });
    }
    let (membership_id, state): (i64, String) = sqlx::query_as(
        "SELECT id, state FROM memberships WHERE trial_id = $1 AND participant_id = $2",
    )
    .bind(trial_id)
    .bind(participant_id)
    .fetch_one(&mut **tx)
    .await?;
    let state = columns::stored("state", &state, MembershipState::parse)?;
    Ok(AddOutcome::AlreadyMember {
        membership_id,
        state,
    })
}

/// 128 random bits as 32 hex characters.
pub(crate) fn new_public_id() -> String {
    crate::tokens::new_token()[..32].to_string()
}

/// Filters for listing the people of a trial.
#[derive(Clone, Debug, Default)]
pub struct MemberQuery {
    /// Part of a name or email address, any case.
    pub search: Option<String>,
    pub state: Option<MembershipState>,
    /// Only people whose email needs attention.
    pub needs_attention: bool,
    /// Only people with this history (paired, feedback, email problems).
    pub history: Option<super::history::HistoryFilter>,
    pub limit: i64,
    pub offset: i64,
}

impl MemberQuery {
    /// ` WHERE ...` for the filters in use, with the trial as `$1` and the returned strings as
    /// `$2`, `$3`, ... in order. Filters not in use are left out of the text rather than
    /// written as `($2 IS NULL OR ...)`: after five runs PostgreSQL may keep one generic plan
    /// of a prepared statement for any value, and that plan guessed one row for the whole trial
    /// and probed 10,000 memberships one at a time (35 ms instead of 19 for a page). Each
    /// combination of filters is its own statement, planned for what it asks.
    pub(crate) fn filter(&self) -> (String, Vec<String>) {
        let mut sql = String::from(" WHERE m.trial_id = $1");
        let mut values = Vec::new();
        if let Some(search) = &self.search {
            values.push(super::search::like_pattern(search));
            sql += &format!(" AND p.search_key LIKE ${} ESCAPE '\\'", values.len() + 1);
        }
        if let Some(state) = self.state {
            values.push(state.as_str().to_string());
            sql += &format!(" AND m.state = ${}", values.len() + 1);
        }
        if self.needs_attention {
            sql += " AND p.needs_attention IS NOT NULL";
        }
        sql += &super::history::history_condition(self.history);
        (sql, values)
    }
}

impl Store {
    pub async fn find_member(
        &self,
        trial_id: i64,
        public_id: &str,
    ) -> Result<Option<Member>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "{MEMBER_SELECT} WHERE m.trial_id = $1 AND m.public_id = $2"
        ))
        .bind(trial_id)
        .bind(public_id)
        .fetch_optional(self.pool())
        .await?)
    }

    pub async fn find_member_by_id(
        &self,
        membership_id: i64,
    ) -> Result<Option<Member>, StoreError> {
        Ok(sqlx::query_as(&format!("{MEMBER_SELECT} WHERE m.id = $1"))
            .bind(membership_id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// One page of the trial's people matching `q`, by name. The page's ids are chosen first
    /// from the two narrow columns the order needs, then only those rows are read in full:
    /// sorting 10,000 whole rows to keep 50 took twice as long on PostgreSQL.
    pub async fn list_members(
        &self,
        trial_id: i64,
        q: &MemberQuery,
    ) -> Result<Vec<Member>, StoreError> {
        let (filter, values) = q.filter();
        let limit = values.len() + 2;
        let sql = format!(
            "{MEMBER_SELECT} JOIN (SELECT m.id FROM memberships m \
               JOIN participants p ON p.id = m.participant_id{filter} \
               ORDER BY LOWER(p.name), m.id LIMIT ${limit} OFFSET ${}) page ON page.id = m.id \
             ORDER BY LOWER(p.name), m.id",
            limit + 1
        );
        let mut query = sqlx::query_as(&sql).bind(trial_id);
        for value in &values {
            query = query.bind(value.as_str());
        }
        Ok(query
            .bind(if q.limit > 0 { q.limit } else { i64::MAX })
            .bind(q.offset.max(0))
            .fetch_all(self.pool())
            .await?)
    }

    /// Number of people in each state, for a trial's overview.
    pub async fn count_members_by_state(
        &self,
        trial_id: i64,
    ) -> Result<Vec<(MembershipState, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, COUNT(*) FROM memberships WHERE trial_id = $1 GROUP BY state ORDER BY state",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(s, n)| Ok((columns::stored("state", &s, MembershipState::parse)?, n)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Moves a membership to another state; `paused_until` only matters for `Paused`.
    pub async fn set_member_state(
        &self,
        membership_id: i64,
        state: MembershipState,
        paused_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        // Writes come first in the transaction (SQLite then holds the write lock from the
        // start); leaving is news to a receiver only the first time.
        let newly_left = state == MembershipState::Left
            && set_state_where(&mut tx, membership_id, state, None, now, "'erased', 'left'")
                .await?;
        let changed = newly_left
            || set_state_where(&mut tx, membership_id, state, paused_until, now, "'erased'")
                .await?;
        if newly_left {
            super::webhooks::queue_event(
                &mut tx,
                super::webhooks::Fact::ParticipantLeft { membership_id },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }
}
