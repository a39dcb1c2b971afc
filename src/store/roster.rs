//! The organisers' view of a trial's people: counting for the console's pages, and CSV
//! imports (the upload kept between preview and go-ahead, and the import itself).
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::participants::{add_member, AddOutcome, MemberQuery};
use super::time::to_db;
use super::{columns, Store, StoreError};
use crate::domain::{ImportState, MembershipState, ParticipantDetails};

/// An uploaded file waiting for (or past) its import.
#[derive(Clone, Debug)]
pub struct ImportBatch {
    pub id: i64,
    pub public_id: String,
    pub trial_id: i64,
    pub file_name: String,
    /// The file as text (already checked to be UTF-8).
    pub content: String,
    pub state: ImportState,
    pub added: i64,
    /// After the import: what happened, in words for the organiser.
    pub outcome: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// People in the import as it was started (or continued): `done` of them are through.
    pub total: i64,
    pub done: i64,
    /// Whether the organiser stated these people's consent (kept for a continued import).
    pub consent: bool,
    /// Written with every chunk of the import; an old one means it was interrupted.
    pub heartbeat_at: Option<DateTime<Utc>>,
}

impl FromRow<'_, AnyRow> for ImportBatch {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(ImportBatch {
            id: row.try_get("id")?,
            public_id: row.try_get("public_id")?,
            trial_id: row.try_get("trial_id")?,
            file_name: row.try_get("file_name")?,
            content: row.try_get("content")?,
            state: columns::word(row, "state", ImportState::parse)?,
            added: row.try_get("added")?,
            outcome: row.try_get("outcome")?,
            created_at: columns::time(row, "created_at")?,
            finished_at: columns::optional_time(row, "finished_at")?,
            total: row.try_get("total")?,
            done: row.try_get("done")?,
            consent: columns::flag(row, "consent")?,
            heartbeat_at: columns::optional_time(row, "heartbeat_at")?,
        })
    }
}

impl ImportBatch {
    /// An `importing` batch whose import has shown no sign of life for a while: the process
    /// running it stopped. What it saved stays; running the import again adds the rest.
    pub fn interrupted(&self, now: DateTime<Utc>) -> bool {
        self.state == ImportState::Importing
            && self
                .heartbeat_at
                .is_none_or(|at| at < now - chrono::Duration::seconds(IMPORT_STALE_SECONDS))
    }
}

/// An import writes its progress at least this often (one chunk of people takes well under
/// a second); a batch silent for longer was interrupted.
pub const IMPORT_STALE_SECONDS: i64 = 60;

const BATCH_COLUMNS: &str = "id, public_id, trial_id, file_name, content, state, added, \
     outcome, created_at, finished_at, total, done, consent, heartbeat_at";

/// Inside an import's transaction: the participant a new membership belongs to.
pub async fn participant_of_membership(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    membership_id: i64,
) -> Result<i64, StoreError> {
    let (id,): (i64,) = sqlx::query_as("SELECT participant_id FROM memberships WHERE id = $1")
        .bind(membership_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(id)
}

/// Inside a chunk's transaction: records that `done` more people are through (`added` of
/// them new), together with the people themselves.
pub async fn record_import_progress(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    batch_id: i64,
    done: usize,
    added: usize,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE import_batches SET done = done + $1, added = added + $2, heartbeat_at = $3 \
         WHERE id = $4",
    )
    .bind(done as i64)
    .bind(added as i64)
    .bind(to_db(now))
    .bind(batch_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
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
        self.count_members_matching(trial_id, search, state, false)
            .await
    }

    /// Like [`Store::count_members`], optionally only people whose email needs attention.
    pub async fn count_members_matching(
        &self,
        trial_id: i64,
        search: Option<&str>,
        state: Option<MembershipState>,
        needs_attention: bool,
    ) -> Result<i64, StoreError> {
        let q = MemberQuery {
            search: search.map(str::to_string),
            state,
            needs_attention,
            ..MemberQuery::default()
        };
        self.count_member_query(trial_id, &q).await
    }

    /// How many of a trial's people match every filter of the query (paging aside).
    pub async fn count_member_query(
        &self,
        trial_id: i64,
        q: &MemberQuery,
    ) -> Result<i64, StoreError> {
        let (filter, values) = q.filter();
        let sql = format!(
            "SELECT COUNT(*) FROM memberships m JOIN participants p ON p.id = m.participant_id\
             {filter}"
        );
        let mut query = sqlx::query_as(&sql).bind(trial_id);
        for value in &values {
            query = query.bind(value.as_str());
        }
        let (n,): (i64,) = query.fetch_one(self.pool()).await?;
        Ok(n)
    }

    /// People of the trial whose email needs attention (a refused address), for the list's
    /// filter link.
    pub async fn count_needing_attention(&self, trial_id: i64) -> Result<i64, StoreError> {
        self.count_members_matching(trial_id, None, None, true)
            .await
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
        Ok(sqlx::query_as(&format!(
            "SELECT {BATCH_COLUMNS} FROM import_batches WHERE trial_id = $1 AND public_id = $2"
        ))
        .bind(trial_id)
        .bind(public_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Marks a batch as being imported, with `remaining` people still to add. False when it
    /// already is (and still running) or is done: a second click on the import button must
    /// not import twice. An interrupted import (see [`ImportBatch::interrupted`]) can be
    /// claimed again to finish it.
    pub async fn claim_import_batch(
        &self,
        batch_id: i64,
        remaining: usize,
        consent: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let stale = now - chrono::Duration::seconds(IMPORT_STALE_SECONDS);
        let done = sqlx::query(
            "UPDATE import_batches SET state = 'importing', total = done + $1, consent = $2, \
             heartbeat_at = $3, outcome = '' \
             WHERE id = $4 AND (state IN ('previewed', 'failed') \
               OR (state = 'importing' AND (heartbeat_at IS NULL OR heartbeat_at < $5)))",
        )
        .bind(remaining as i64)
        .bind(i64::from(consent))
        .bind(to_db(now))
        .bind(batch_id)
        .bind(to_db(stale))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records how an import ended (`added` is counted chunk by chunk as it goes).
    pub async fn finish_import_batch(
        &self,
        batch_id: i64,
        imported: bool,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE import_batches SET state = $1, outcome = $2, finished_at = $3 WHERE id = $4",
        )
        .bind(
            if imported {
                ImportState::Imported
            } else {
                ImportState::Failed
            }
            .as_str(),
        )
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
}
