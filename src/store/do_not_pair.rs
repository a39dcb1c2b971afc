//! The do-not-pair chooser on a participant's page: a bounded search of the trial by name, the
//! people someone has been paired with, and adding or removing one person at a time. Nothing
//! here lists a whole trial: that would show every participant's name to anyone with a link.
use chrono::{DateTime, Utc};

use super::participants::Member;
use super::signup::OtherMember;
use super::time::to_db;
use super::{Store, StoreError};

impl Store {
    /// At most `limit` people of `member`'s trial (taking part or paused, not themselves) whose
    /// name matches `name_pattern` (a [`super::search::name_like_pattern`]), by name.
    pub async fn find_people_by_name(
        &self,
        member: &Member,
        name_pattern: &str,
        limit: i64,
    ) -> Result<Vec<OtherMember>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT m.public_id, p.name FROM memberships m \
             JOIN participants p ON p.id = m.participant_id \
             WHERE m.trial_id = $1 AND m.id <> $2 AND m.state IN ('active', 'paused') \
               AND p.search_key LIKE $3 ESCAPE '\\' \
             ORDER BY LOWER(p.name), m.id LIMIT $4",
        )
        .bind(member.trial_id)
        .bind(member.membership_id)
        .bind(name_pattern)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Everyone `membership_id` has shared a group with in a published round, once each, by
    /// name (erased people are left out: there is no name to show).
    pub async fn people_paired_with(
        &self,
        membership_id: i64,
    ) -> Result<Vec<OtherMember>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT DISTINCT m.public_id, p.name, LOWER(p.name) AS sort_name, m.id \
             FROM round_group_members mine \
             JOIN round_groups g ON g.id = mine.group_id \
             JOIN rounds r ON r.id = g.round_id AND r.state = 'published' \
             JOIN round_group_members other ON other.group_id = g.id \
               AND other.membership_id <> mine.membership_id \
             JOIN memberships m ON m.id = other.membership_id AND m.state <> 'erased' \
             JOIN participants p ON p.id = m.participant_id \
             WHERE mine.membership_id = $1 \
             ORDER BY sort_name, m.id",
        )
        .bind(membership_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Puts one person of the same trial on `member`'s list. False when there is no such
    /// person (or it is `member`), or they were on it already.
    pub async fn add_do_not_pair(
        &self,
        member: &Member,
        public_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
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
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Takes one person off `membership_id`'s list; false when they were not on it.
    pub async fn remove_do_not_pair(
        &self,
        membership_id: i64,
        public_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "DELETE FROM do_not_pair WHERE membership_id = $1 AND other_membership_id IN \
             (SELECT id FROM memberships WHERE public_id = $2)",
        )
        .bind(membership_id)
        .bind(public_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// How many people are on `membership_id`'s list.
    pub async fn do_not_pair_count(&self, membership_id: i64) -> Result<i64, StoreError> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) AS n FROM do_not_pair WHERE membership_id = $1")
                .bind(membership_id)
                .fetch_one(self.pool())
                .await?;
        Ok(n)
    }
}
