//! "Some of us met", in a group of three: which pairs of the group met, as each member who gave
//! that answer says. Only the pairs named by an answer that is still "some of us met" count.
use sqlx::FromRow;

use super::{Store, StoreError};

/// A member of a group, as the "who met?" question names them.
#[derive(Clone, Debug, FromRow)]
pub struct GroupPerson {
    pub membership_id: i64,
    pub public_id: String,
    pub name: String,
}

/// A pair of a group that met, as one member's "some of us met" answer says.
#[derive(Clone, Copy, Debug, FromRow, PartialEq, Eq)]
pub struct MetPairRow {
    pub group_id: i64,
    pub first_membership_id: i64,
    pub second_membership_id: i64,
}

impl Store {
    /// The members of a group, by name.
    pub async fn group_people(&self, group_id: i64) -> Result<Vec<GroupPerson>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT m.id AS membership_id, m.public_id, p.name \
             FROM round_group_members gm JOIN memberships m ON m.id = gm.membership_id \
             JOIN participants p ON p.id = m.participant_id \
             WHERE gm.group_id = $1 ORDER BY LOWER(p.name), m.id",
        )
        .bind(group_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The pairs that `membership_id` last said met in `group_id`.
    pub async fn met_pairs_of(
        &self,
        group_id: i64,
        membership_id: i64,
    ) -> Result<Vec<MetPairRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT group_id, first_membership_id, second_membership_id FROM feedback_met_pairs \
             WHERE group_id = $1 AND membership_id = $2 \
             ORDER BY first_membership_id, second_membership_id",
        )
        .bind(group_id)
        .bind(membership_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Replaces what `membership_id` says about which pairs of `group_id` met, in one
    /// transaction. Each pair is stored with the smaller membership id first.
    pub async fn set_met_pairs(
        &self,
        group_id: i64,
        membership_id: i64,
        pairs: &[(i64, i64)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM feedback_met_pairs WHERE group_id = $1 AND membership_id = $2")
            .bind(group_id)
            .bind(membership_id)
            .execute(&mut *tx)
            .await?;
        for &(a, b) in pairs {
            sqlx::query(
                "INSERT INTO feedback_met_pairs \
                 (group_id, membership_id, first_membership_id, second_membership_id) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(group_id)
            .bind(membership_id)
            .bind(a.min(b))
            .bind(a.max(b))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every pair of the trial's published rounds that a member said met with "some of us
    /// met" (an answer since changed to something else no longer counts), once per answer.
    pub async fn trial_met_pairs(&self, trial_id: i64) -> Result<Vec<MetPairRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT mp.group_id, mp.first_membership_id, mp.second_membership_id \
             FROM feedback_met_pairs mp \
             JOIN feedback f ON f.group_id = mp.group_id AND f.membership_id = mp.membership_id \
             JOIN round_groups g ON g.id = mp.group_id \
             JOIN rounds r ON r.id = g.round_id \
             WHERE r.trial_id = $1 AND r.state = 'published' AND f.outcome = 'some_met' \
             ORDER BY mp.group_id, mp.first_membership_id, mp.second_membership_id",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?)
    }
}
