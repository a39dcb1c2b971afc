//! Many sign-ups written with a few statements: each step is one multi-row statement for the
//! whole batch, so a batch of sixty-four costs about as many round trips to the database as
//! one sign-up did. The same SQL serves both backends. What each step finds is the same as
//! writing the sign-ups one after another in the batch's order (a second sign-up for the same
//! address finds the person the first one created).
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};

use super::columns;
use super::limits::HitCounts;
use super::outbox::NewEmail;
use super::participants::new_public_id;
use super::search::search_key;
use super::signup::LinkPurpose;
use super::time::to_db;
use super::StoreError;
use crate::domain::{MeetingMode, MembershipState, ParticipantDetails};

/// Adds `increment` hits to each key (distinct keys) in the window starting at `window_start`
/// and returns every key's count after that, with its previous window (`previous_start`).
pub async fn count_hits(
    tx: &mut Transaction<'_, Any>,
    keys: &[(String, i64)],
    window_start: i64,
    previous_start: i64,
    expires_at: i64,
    now_ms: i64,
) -> Result<HashMap<String, HitCounts>, StoreError> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    // $1 window, $2 now, $3 expiry, $4 previous window; then (key, increment) per row.
    let rows: Vec<String> = (0..keys.len())
        .map(|i| {
            let b = 4 + i * 2;
            format!("(${}, $1, ${}, $2, $3)", b + 1, b + 2)
        })
        .collect();
    let sql = format!(
        "INSERT INTO rate_limits (key, window_start, hits, last_hit_ms, expires_at) VALUES {} \
         ON CONFLICT (key, window_start) \
         DO UPDATE SET hits = rate_limits.hits + excluded.hits, last_hit_ms = excluded.last_hit_ms \
         RETURNING key, hits, \
           (SELECT p.hits FROM rate_limits p \
            WHERE p.key = rate_limits.key AND p.window_start = $4) AS previous_hits, \
           (SELECT p.last_hit_ms FROM rate_limits p \
            WHERE p.key = rate_limits.key AND p.window_start = $4) AS previous_last_hit_ms",
        rows.join(", ")
    );
    let mut query = sqlx::query_as::<_, (String, i64, Option<i64>, Option<i64>)>(&sql)
        .bind(window_start)
        .bind(now_ms)
        .bind(expires_at)
        .bind(previous_start);
    for (key, increment) in keys {
        query = query.bind(key.as_str()).bind(*increment);
    }
    let rows = query.fetch_all(&mut **tx).await?;
    Ok(rows
        .into_iter()
        .map(|(key, hits, previous_hits, previous_last_hit_ms)| {
            (
                key,
                HitCounts {
                    hits,
                    previous_hits,
                    previous_last_hit_ms,
                },
            )
        })
        .collect())
}

/// One sign-up of a batch.
pub struct NewSignUp<'a> {
    pub trial_id: i64,
    pub details: &'a ParticipantDetails,
}

/// Where a sign-up of a batch landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Landed {
    pub membership_id: i64,
    pub participant_id: i64,
    /// The person's name as stored (theirs from before when the address was known).
    pub name: String,
    /// The membership's state: `Pending` for a new one.
    pub state: MembershipState,
}

/// Adds the people (by address) and their pending memberships of a batch of sign-ups,
/// leaving alone whatever exists already, as `add_member` does one at a time.
pub async fn add_members(
    tx: &mut Transaction<'_, Any>,
    sign_ups: &[NewSignUp<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Landed>, StoreError> {
    if sign_ups.is_empty() {
        return Ok(Vec::new());
    }
    let now = to_db(now);
    // The people: new addresses are inserted and come back with their ids; the addresses
    // already known (seldom, under a crowd of new people) are read afterwards.
    let rows: Vec<String> = (0..sign_ups.len())
        .map(|i| {
            let b = 1 + i * 4;
            format!("(${}, ${}, ${}, $1, $1, ${})", b + 1, b + 2, b + 3, b + 4)
        })
        .collect();
    let sql = format!(
        "INSERT INTO participants (public_id, email, name, created_at, updated_at, search_key) \
         VALUES {} ON CONFLICT (email) DO NOTHING RETURNING id, email, name",
        rows.join(", ")
    );
    let mut query = sqlx::query_as::<_, (i64, String, String)>(&sql).bind(&now);
    for s in sign_ups {
        let d = s.details;
        query = query
            .bind(new_public_id())
            .bind(d.email.as_str())
            .bind(d.name.as_str())
            .bind(search_key(d.name.as_str(), Some(d.email.as_str())));
    }
    let mut people: HashMap<String, (i64, String)> = query
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|(id, email, name)| (email, (id, name)))
        .collect();
    let mut known: Vec<&str> = sign_ups
        .iter()
        .map(|s| s.details.email.as_str())
        .filter(|email| !people.contains_key(*email))
        .collect();
    known.sort_unstable();
    known.dedup();
    if !known.is_empty() {
        let list: Vec<String> = (1..=known.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT id, email, name FROM participants WHERE email IN ({})",
            list.join(", ")
        );
        let mut query = sqlx::query_as::<_, (i64, String, String)>(&sql);
        for email in &known {
            query = query.bind(*email);
        }
        for (id, email, name) in query.fetch_all(&mut **tx).await? {
            people.insert(email, (id, name));
        }
    }
    let person = |s: &NewSignUp| {
        people
            .get(s.details.email.as_str())
            .cloned()
            .ok_or_else(|| StoreError::Sql(sqlx::Error::RowNotFound))
    };

    // The memberships: new ones are inserted as pending and come back with their ids; the
    // ones that existed are read afterwards, with their state.
    let mut participant_ids = Vec::with_capacity(sign_ups.len());
    for s in sign_ups {
        participant_ids.push(person(s)?.0);
    }
    let width = 9;
    let rows: Vec<String> = (0..sign_ups.len())
        .map(|i| {
            let b = 1 + i * width;
            let p = |k: usize| format!("${}", b + k);
            format!(
                "({}, {}, {}, 'pending', {}, {}, {}, {}, {}, {}, $1, NULL, $1, $1)",
                p(1),
                p(2),
                p(3),
                p(4),
                p(5),
                p(6),
                p(7),
                p(8),
                p(9)
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO memberships (public_id, trial_id, participant_id, state, attribute_value, \
         role, site, team, meeting_modes, introduction, consent_at, confirmed_at, created_at, \
         updated_at) VALUES {} ON CONFLICT (trial_id, participant_id) DO NOTHING \
         RETURNING id, trial_id, participant_id",
        rows.join(", ")
    );
    let mut query = sqlx::query_as::<_, (i64, i64, i64)>(&sql).bind(&now);
    for (s, participant_id) in sign_ups.iter().zip(&participant_ids) {
        let d = s.details;
        query = query
            .bind(new_public_id())
            .bind(s.trial_id)
            .bind(*participant_id)
            .bind(&d.attribute_value)
            .bind(&d.role)
            .bind(&d.site)
            .bind(&d.team)
            .bind(MeetingMode::join(&d.meeting_modes))
            .bind(&d.introduction);
    }
    let mut memberships: HashMap<(i64, i64), (i64, MembershipState)> = query
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|(id, trial_id, participant_id)| {
            ((trial_id, participant_id), (id, MembershipState::Pending))
        })
        .collect();
    let mut members_before: Vec<i64> = sign_ups
        .iter()
        .zip(&participant_ids)
        .filter(|(s, p)| !memberships.contains_key(&(s.trial_id, **p)))
        .map(|(_, p)| *p)
        .collect();
    members_before.sort_unstable();
    members_before.dedup();
    if !members_before.is_empty() {
        let list: Vec<String> = (1..=members_before.len())
            .map(|n| format!("${n}"))
            .collect();
        let sql = format!(
            "SELECT id, trial_id, participant_id, state FROM memberships \
             WHERE participant_id IN ({})",
            list.join(", ")
        );
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&sql);
        for participant_id in &members_before {
            query = query.bind(*participant_id);
        }
        for (id, trial_id, participant_id, state) in query.fetch_all(&mut **tx).await? {
            let state = columns::stored("state", &state, MembershipState::parse)?;
            memberships
                .entry((trial_id, participant_id))
                .or_insert((id, state));
        }
    }
    let mut landed = Vec::with_capacity(sign_ups.len());
    for (s, participant_id) in sign_ups.iter().zip(participant_ids) {
        let (_, name) = person(s)?;
        let (membership_id, state) = memberships
            .get(&(s.trial_id, participant_id))
            .copied()
            .ok_or_else(|| StoreError::Sql(sqlx::Error::RowNotFound))?;
        landed.push(Landed {
            membership_id,
            participant_id,
            name,
            state,
        });
    }
    Ok(landed)
}

/// Stores the hashes of links of several memberships in one statement: (membership, purpose,
/// hash, expiry) each.
pub async fn insert_link_tokens(
    tx: &mut Transaction<'_, Any>,
    now: DateTime<Utc>,
    links: &[(i64, LinkPurpose, &str, DateTime<Utc>)],
) -> Result<(), StoreError> {
    if links.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..links.len())
        .map(|i| {
            let b = 1 + i * 4;
            format!("(${}, ${}, ${}, $1, ${})", b + 1, b + 2, b + 3, b + 4)
        })
        .collect();
    let sql = format!(
        "INSERT INTO one_time_tokens (token_hash, purpose, membership_id, created_at, expires_at) \
         VALUES {}",
        rows.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(to_db(now));
    for (membership_id, purpose, hash, expires_at) in links {
        query = query
            .bind(hash.to_string())
            .bind(purpose.as_str())
            .bind(*membership_id)
            .bind(to_db(*expires_at));
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Queues several emails in one statement, as `outbox::enqueue` does one.
pub async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    emails: &[NewEmail],
    message_domain: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if emails.is_empty() {
        return Ok(());
    }
    let width = 10;
    let rows: Vec<String> = (0..emails.len())
        .map(|i| {
            let b = 1 + i * width;
            let p: Vec<String> = (1..=width).map(|k| format!("${}", b + k)).collect();
            format!("({}, $1, $1)", p.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO outbox (message_id, template, to_address, participant_id, round_id, subject, \
         body_text, body_html, headers_json, attachments_json, next_attempt_at, created_at) \
         VALUES {}",
        rows.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(to_db(now));
    for email in emails {
        let message_id = format!("<{}@{}>", &crate::tokens::new_token()[..32], message_domain);
        query = query
            .bind(message_id)
            .bind(email.template)
            .bind(&email.to_address)
            .bind(email.participant_id)
            .bind(email.round_id)
            .bind(&email.subject)
            .bind(&email.body_text)
            .bind(&email.body_html)
            .bind(&email.headers_json)
            .bind(&email.attachments_json);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}
