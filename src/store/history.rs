//! A person's history in a trial, for the console: the groups they were in, their feedback
//! answers and the emails that did not reach them; and the filters of a trial's people list
//! by that history. The filters read counts kept on the membership row itself, or (for email
//! problems) probe an index keyed by the participant, so filtering a large trial reads no one's
//! history.
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use super::{columns, Store, StoreError};
use crate::domain::Outcome;

/// Narrows a trial's people by what has happened to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryFilter {
    /// In no group of a published round.
    NeverPaired,
    /// In at least one group of a published round.
    Paired,
    /// Answered "did you meet?" at least once.
    GaveFeedback,
    /// Paired, and never answered.
    PairedNoFeedback,
    /// Their address was refused, or an email to them failed for good and none has gone
    /// through since.
    EmailProblems,
}

impl HistoryFilter {
    pub const ALL: [HistoryFilter; 5] = [
        HistoryFilter::NeverPaired,
        HistoryFilter::Paired,
        HistoryFilter::GaveFeedback,
        HistoryFilter::PairedNoFeedback,
        HistoryFilter::EmailProblems,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HistoryFilter::NeverPaired => "never-paired",
            HistoryFilter::Paired => "paired",
            HistoryFilter::GaveFeedback => "gave-feedback",
            HistoryFilter::PairedNoFeedback => "no-feedback",
            HistoryFilter::EmailProblems => "email-problems",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            HistoryFilter::NeverPaired => "Never paired",
            HistoryFilter::Paired => "Paired at least once",
            HistoryFilter::GaveFeedback => "Gave feedback",
            HistoryFilter::PairedNoFeedback => "Paired, never gave feedback",
            HistoryFilter::EmailProblems => "Email problems",
        }
    }

    /// The condition, over `memberships m JOIN participants p`. Fixed text: nothing from the
    /// request is ever written into it.
    pub(crate) fn condition(self) -> &'static str {
        match self {
            HistoryFilter::NeverPaired => NOT_PAIRED,
            HistoryFilter::Paired => PAIRED,
            HistoryFilter::GaveFeedback => GAVE_FEEDBACK,
            HistoryFilter::PairedNoFeedback => PAIRED_NO_FEEDBACK,
            HistoryFilter::EmailProblems => EMAIL_PROBLEMS,
        }
    }
}

// `paired_rounds` and `answers_given` are kept by triggers (migration 0080): the number of
// published rounds the membership was placed in, and of its answers.
const PAIRED: &str = "m.paired_rounds > 0";
const NOT_PAIRED: &str = "m.paired_rounds = 0";
const GAVE_FEEDBACK: &str = "m.answers_given > 0";
const PAIRED_NO_FEEDBACK: &str = "m.paired_rounds > 0 AND m.answers_given = 0";
/// The failed-message probe uses `outbox_failed_by_participant_idx` (migration 0070); only
/// failures to the address the person has now count.
const EMAIL_PROBLEMS: &str = "(p.needs_attention IS NOT NULL OR EXISTS (SELECT 1 FROM outbox ho \
     WHERE ho.participant_id = p.id AND ho.state = 'failed' AND ho.to_address = p.email \
     AND NOT EXISTS (SELECT 1 FROM outbox hs WHERE hs.participant_id = p.id \
       AND hs.state = 'sent' AND hs.id > ho.id)))";

/// ` AND (...)` for a history filter, or nothing.
pub(crate) fn history_condition(filter: Option<HistoryFilter>) -> String {
    filter
        .map(|h| format!(" AND {}", h.condition()))
        .unwrap_or_default()
}

/// One other member of one of the person's groups in a published round.
#[derive(Clone, Debug)]
pub struct PairingRow {
    pub round_number: i64,
    pub published_at: Option<DateTime<Utc>>,
    pub group_id: i64,
    pub partner_public_id: String,
    pub partner_name: String,
    pub partner_meeting_modes: String,
    pub partner_site: String,
}

impl FromRow<'_, AnyRow> for PairingRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(PairingRow {
            round_number: row.try_get("round_number")?,
            published_at: columns::optional_time(row, "published_at")?,
            group_id: row.try_get("group_id")?,
            partner_public_id: row.try_get("partner_public_id")?,
            partner_name: row.try_get("partner_name")?,
            partner_meeting_modes: row.try_get("partner_meeting_modes")?,
            partner_site: row.try_get("partner_site")?,
        })
    }
}

/// One of the person's answers to "did you meet?".
#[derive(Clone, Debug)]
pub struct AnswerRow {
    pub round_number: i64,
    pub outcome: Outcome,
    pub rating: Option<i64>,
    pub takeaway: String,
    pub share_consent: bool,
    pub answered_at: DateTime<Utc>,
}

impl FromRow<'_, AnyRow> for AnswerRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(AnswerRow {
            round_number: row.try_get("round_number")?,
            outcome: columns::word(row, "outcome", Outcome::parse)?,
            rating: row.try_get("rating")?,
            takeaway: row.try_get("takeaway")?,
            share_consent: columns::flag(row, "share_consent")?,
            answered_at: columns::time(row, "updated_at")?,
        })
    }
}

/// An email to the person that failed for good, or is waiting to be tried again after a
/// failed attempt.
#[derive(Clone, Debug)]
pub struct EmailProblemRow {
    pub id: i64,
    pub template: String,
    pub subject: String,
    pub to_address: String,
    /// True: given up (`failed`); false: waiting for another attempt.
    pub failed: bool,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub queued_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
}

impl FromRow<'_, AnyRow> for EmailProblemRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let state: String = row.try_get("state")?;
        Ok(EmailProblemRow {
            id: row.try_get("id")?,
            template: row.try_get("template")?,
            subject: row.try_get("subject")?,
            to_address: row.try_get("to_address")?,
            failed: state == "failed",
            attempts: row.try_get("attempts")?,
            last_error: row.try_get("last_error")?,
            queued_at: columns::time(row, "created_at")?,
            next_attempt_at: columns::time(row, "next_attempt_at")?,
        })
    }
}

/// The most email problems a person's page lists (newest first).
pub const EMAIL_PROBLEMS_LISTED: i64 = 20;

impl Store {
    /// The others in each of the membership's groups of published rounds, newest round first.
    pub async fn pairings_of(&self, membership_id: i64) -> Result<Vec<PairingRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.number AS round_number, r.published_at, g.id AS group_id, \
               om.public_id AS partner_public_id, p.name AS partner_name, \
               om.meeting_modes AS partner_meeting_modes, om.site AS partner_site \
             FROM round_group_members mine \
             JOIN round_groups g ON g.id = mine.group_id \
             JOIN rounds r ON r.id = g.round_id \
             JOIN round_group_members other \
               ON other.group_id = g.id AND other.membership_id <> mine.membership_id \
             JOIN memberships om ON om.id = other.membership_id \
             JOIN participants p ON p.id = om.participant_id \
             WHERE mine.membership_id = $1 AND r.state = 'published' \
             ORDER BY r.number DESC, g.id, LOWER(p.name), om.id",
        )
        .bind(membership_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Every answer given in the membership's groups, by group (for "did the group meet?").
    pub async fn group_answers_of(
        &self,
        membership_id: i64,
    ) -> Result<Vec<(i64, Outcome)>, StoreError> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT f.group_id, f.outcome FROM feedback f \
             WHERE f.group_id IN (SELECT group_id FROM round_group_members \
               WHERE membership_id = $1)",
        )
        .bind(membership_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(g, o)| Outcome::parse(&o).map(|o| (g, o)))
            .collect())
    }

    /// The membership's own answers, newest round first.
    pub async fn answers_of(&self, membership_id: i64) -> Result<Vec<AnswerRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.number AS round_number, f.outcome, f.rating, f.takeaway, \
               f.share_consent, f.updated_at \
             FROM feedback f JOIN round_groups g ON g.id = f.group_id \
             JOIN rounds r ON r.id = g.round_id \
             WHERE f.membership_id = $1 ORDER BY r.number DESC",
        )
        .bind(membership_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Emails to the participant that failed, or wait for another try after failing, newest
    /// first; and the id of the latest email to them that went through.
    pub async fn email_problems_of(
        &self,
        participant_id: i64,
    ) -> Result<(Vec<EmailProblemRow>, Option<i64>), StoreError> {
        let problems = sqlx::query_as(
            "SELECT id, template, subject, to_address, state, attempts, last_error, \
               created_at, next_attempt_at FROM outbox \
             WHERE participant_id = $1 \
               AND (state = 'failed' OR (state = 'queued' AND last_error IS NOT NULL)) \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(participant_id)
        .bind(EMAIL_PROBLEMS_LISTED)
        .fetch_all(self.pool())
        .await?;
        let (latest_sent,): (Option<i64>,) = sqlx::query_as(
            "SELECT MAX(id) FROM outbox WHERE participant_id = $1 AND state = 'sent'",
        )
        .bind(participant_id)
        .fetch_one(self.pool())
        .await?;
        Ok((problems, latest_sent))
    }
}
