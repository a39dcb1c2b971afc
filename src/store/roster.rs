//! The organisers' view of a trial's people: counting for the console's pages, and CSV
//! imports (the upload kept between preview and go-ahead, and the import itself).
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::participants::{add_member, AddOutcome};
use super::time::to_db;
use super::{Store, StoreError};
use crate::domain::{MembershipState, ParticipantDetails};

/// An uploaded file waiting for (or past) its import.
#[derive(Clone, Debug, FromRow)]
pub struct ImportBatch {
    pub id: i64,
    pub public_id: String,
    pub trial_id: i64,
    pub file_name: String,
    /// The file as text (already checked to be UTF-8).
    pub content: String,
    /// `previewed`, `importing`, `imported` or `failed`.
    pub state: String,
    pub added: i64,
    /// After the import: what happened, in words for the organiser.
    pub outcome: String,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub added: usize,
    /// Rows whose address was already in the trial (left as they were).
    pub already_members: usize,
}

/// Uploads that were never imported are forgotten after a day.
const BATCH_LIFETIME_HOURS: i64 = 24;

impl Store {
    /// Matches `list_members`'s filters, for paging.
    pub async fn count_members(
        &self,
        trial_id: i64,
        search: Option<&str>,
        state: Option<MembershipState>,
    ) -> Result<i64, StoreError> {
        let pattern = search.map(super::search::like_pattern);
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM memberships m JOIN participants p ON p.id = m.participant_id \
             WHERE m.trial_id = $1 \
             AND ($2 IS NULL OR p.search_key LIKE $2 ESCAPE '\\') \
             AND ($3 IS NULL OR m.state = $3)",
        )
        .bind(trial_id)
        .bind(pattern)
        .bind(state.map(|s| s.as_str()))
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }

    /// Email addresses of everyone in the trial (in any state), to spot rows already there.
    pub async fn member_emails(&self, trial_id: i64) -> Result<HashSet<String>, StoreError> {
        let rows: Vec<(Option<String>,)> = sqlx::query_as(
            "SELECT p.email FROM memberships m JOIN participants p ON p.id = m.participant_id \
             WHERE m.trial_id = $1",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().filter_map(|(e,)| e).collect())
    }

    /// Keeps an upload for its preview, and forgets stale ones from earlier uploads.
    pub async fn create_import_batch(
        &self,
        trial_id: i64,
        file_name: &str,
        content: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        sqlx::query("DELETE FROM import_batches WHERE created_at < $1 AND state <> 'importing'")
            .bind(to_db(now - chrono::Duration::hours(BATCH_LIFETIME_HOURS)))
            .execute(self.pool())
            .await?;
        let public_id = crate::tokens::new_token()[..32].to_string();
        sqlx::query(
            "INSERT INTO import_batches (public_id, trial_id, file_name, content, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&public_id)
        .bind(trial_id)
        .bind(file_name)
        .bind(content)
        .bind(to_db(now))
        .execute(self.pool())
        .await?;
        Ok(public_id)
    }

    pub async fn find_import_batch(
        &self,
        trial_id: i64,
        public_id: &str,
    ) -> Result<Option<ImportBatch>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, public_id, trial_id, file_name, content, state, added, outcome, \
             created_at, finished_at FROM import_batches WHERE trial_id = $1 AND public_id = $2",
        )
        .bind(trial_id)
        .bind(public_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Marks a batch as being imported. False when it already is, or is done: a second click
    /// on the import button must not import twice.
    pub async fn claim_import_batch(&self, batch_id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE import_batches SET state = 'importing' \
             WHERE id = $1 AND state IN ('previewed', 'failed')",
        )
        .bind(batch_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts a batch whose import was cut short (e.g. by a restart) back to its preview; its
    /// transaction never committed, so nothing of it was saved.
    pub async fn reopen_import_batch(&self, batch_id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE import_batches SET state = 'previewed' WHERE id = $1 AND state = 'importing'",
        )
        .bind(batch_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn finish_import_batch(
        &self,
        batch_id: i64,
        imported: bool,
        added: usize,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE import_batches SET state = $1, added = $2, outcome = $3, finished_at = $4 \
             WHERE id = $5",
        )
        .bind(if imported { "imported" } else { "failed" })
        .bind(added as i64)
        .bind(outcome)
        .bind(to_db(now))
        .bind(batch_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Adds one person to a trial (the API's single add).
    pub async fn add_one_member(
        &self,
        trial_id: i64,
        person: &ParticipantDetails,
        state: MembershipState,
        consent_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<AddOutcome, StoreError> {
        let mut tx = self.pool().begin().await?;
        let outcome = add_member(&mut tx, trial_id, person, state, consent_at, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Adds people to a trial in one transaction: either every row is saved or, on any
    /// error, none is. People already in the trial are left as they are. `progress` hears
    /// the number of rows done so far.
    pub async fn import_members(
        &self,
        trial_id: i64,
        people: &[ParticipantDetails],
        state: MembershipState,
        consent_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<ImportCounts, StoreError> {
        let mut tx = self.pool().begin().await?;
        let mut counts = ImportCounts::default();
        for (i, person) in people.iter().enumerate() {
            match add_member(&mut tx, trial_id, person, state, consent_at, now).await? {
                AddOutcome::Added { .. } => counts.added += 1,
                AddOutcome::AlreadyMember { .. } => counts.already_members += 1,
            }
            progress(i + 1);
        }
        tx.commit().await?;
        Ok(counts)
    }
}
