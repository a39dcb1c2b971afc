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
use super::outbox::{new_message_id, NewEmail};
use super::participants::new_public_id;
use super::search::search_key;
use super::signup::LinkPurpose;
use super::time::to_db;
use super::{Backend, StoreError};
use crate::domain::{MeetingMode, MembershipState, ParticipantDetails};

/// A JSON array of objects, bound as parameter `$param`, read as a table named `alias` with
/// the given columns (name and PostgreSQL type). A statement that takes its rows this way has
/// the same text whatever the batch's size, so each connection prepares it once. With a
/// `VALUES` list, each size was a statement of its own: after a crowd of sign-ups the writer
/// held dozens of those prepared programs (several MB, seen with heaptrack), and the process
/// never gave that memory back.
fn json_rows(backend: &Backend, param: usize, alias: &str, columns: &[(&str, &str)]) -> String {
    match backend {
        Backend::Sqlite => {
            let fields: Vec<String> = columns
                .iter()
                .map(|(name, _)| format!("value ->> '$.{name}' AS {name}"))
                .collect();
            format!(
                "(SELECT {} FROM json_each(${param})) AS {alias}",
                fields.join(", ")
            )
        }
        Backend::Postgres => {
            let fields: Vec<String> = columns
                .iter()
                .map(|(name, ty)| format!("{name} {ty}"))
                .collect();
            format!(
                "json_to_recordset(${param}::json) AS {alias} ({})",
                fields.join(", ")
            )
        }
    }
}

/// Adds `increment` hits to each key (distinct keys) in the window starting at `window_start`
/// and returns every key's count after that, with its previous window (`previous_start`).
pub async fn count_hits(
    tx: &mut Transaction<'_, Any>,
    backend: &Backend,
    keys: &[(String, i64)],
    window_start: i64,
    previous_start: i64,
    expires_at: i64,
    now_ms: i64,
) -> Result<HashMap<String, HitCounts>, StoreError> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    // $1 window, $2 now, $3 expiry, $4 previous window, $5 the keys and their increments.
    let sql = format!(
        "INSERT INTO rate_limits (key, window_start, hits, last_hit_ms, expires_at) \
         SELECT h.key, $1, h.hits, $2, $3 FROM {} WHERE true \
         ON CONFLICT (key, window_start) \
         DO UPDATE SET hits = rate_limits.hits + excluded.hits, last_hit_ms = excluded.last_hit_ms \
         RETURNING key, hits, \
           (SELECT p.hits FROM rate_limits p \
            WHERE p.key = rate_limits.key AND p.window_start = $4) AS previous_hits, \
           (SELECT p.last_hit_ms FROM rate_limits p \
            WHERE p.key = rate_limits.key AND p.window_start = $4) AS previous_last_hit_ms",
        json_rows(backend, 5, "h", &[("key", "TEXT"), ("hits", "BIGINT")])
    );
    let hits: Vec<serde_json::Value> = keys
        .iter()
        .map(|(key, increment)| serde_json::json!({ "key": key, "hits": increment }))
        .collect();
    let query = sqlx::query_as::<_, (String, i64, Option<i64>, Option<i64>)>(&sql)
        .bind(window_start)
        .bind(now_ms)
        .bind(expires_at)
        .bind(previous_start)
        .bind(serde_json::Value::Array(hits).to_string());
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

/// Takes back hits that [`count_hits`] added for requests refused by an earlier limit: `n`
/// from each key's count in the window starting at `window_start`. Rare (a client over its
/// limit), so one short statement per key.
pub async fn take_back_hits(
    tx: &mut Transaction<'_, Any>,
    keys: &[(String, i64)],
    window_start: i64,
) -> Result<(), StoreError> {
    for (key, n) in keys {
        sqlx::query("UPDATE rate_limits SET hits = hits - $1 WHERE key = $2 AND window_start = $3")
            .bind(*n)
            .bind(key.as_str())
            .bind(window_start)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
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
    backend: &Backend,
    sign_ups: &[NewSignUp<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Landed>, StoreError> {
    if sign_ups.is_empty() {
        return Ok(Vec::new());
    }
    let now = to_db(now);
    // The people: new addresses are inserted and come back with their ids; the addresses
    // already known (seldom, under a crowd of new people) are read afterwards.
    let sql = format!(
        "INSERT INTO participants (public_id, email, name, created_at, updated_at, search_key) \
         SELECT r.public_id, r.email, r.name, $1, $1, r.search_key FROM {} \
         WHERE true ORDER BY r.n ON CONFLICT (email) DO NOTHING RETURNING id, email, name",
        json_rows(
            backend,
            2,
            "r",
            &[
                ("n", "BIGINT"),
                ("public_id", "TEXT"),
                ("email", "TEXT"),
                ("name", "TEXT"),
                ("search_key", "TEXT"),
            ]
        )
    );
    let input: Vec<serde_json::Value> = sign_ups
        .iter()
        .enumerate()
        .map(|(n, s)| {
            let d = s.details;
            serde_json::json!({
                "n": n,
                "public_id": new_public_id(),
                "email": d.email.as_str(),
                "name": d.name.as_str(),
                "search_key": search_key(d.name.as_str(), Some(d.email.as_str())),
            })
        })
        .collect();
    let mut people: HashMap<String, (i64, String)> =
        sqlx::query_as::<_, (i64, String, String)>(&sql)
            .bind(&now)
            .bind(serde_json::Value::Array(input).to_string())
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
        let sql = format!(
            "SELECT id, email, name FROM participants \
             WHERE email IN (SELECT r.email FROM {})",
            json_rows(backend, 1, "r", &[("email", "TEXT")])
        );
        let list: Vec<serde_json::Value> = known
            .iter()
            .map(|email| serde_json::json!({ "email": email }))
            .collect();
        for (id, email, name) in sqlx::query_as::<_, (i64, String, String)>(&sql)
            .bind(serde_json::Value::Array(list).to_string())
            .fetch_all(&mut **tx)
            .await?
        {
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
    let sql = format!(
        "INSERT INTO memberships (public_id, trial_id, participant_id, state, attribute_value, \
         role, site, team, meeting_modes, introduction, consent_at, confirmed_at, created_at, \
         updated_at) \
         SELECT r.public_id, r.trial_id, r.participant_id, 'pending', r.attribute_value, r.role, \
           r.site, r.team, r.meeting_modes, r.introduction, $1, NULL, $1, $1 FROM {} \
         WHERE true ORDER BY r.n ON CONFLICT (trial_id, participant_id) DO NOTHING \
         RETURNING id, trial_id, participant_id",
        json_rows(
            backend,
            2,
            "r",
            &[
                ("n", "BIGINT"),
                ("public_id", "TEXT"),
                ("trial_id", "BIGINT"),
                ("participant_id", "BIGINT"),
                ("attribute_value", "TEXT"),
                ("role", "TEXT"),
                ("site", "TEXT"),
                ("team", "TEXT"),
                ("meeting_modes", "TEXT"),
                ("introduction", "TEXT"),
            ]
        )
    );
    let input: Vec<serde_json::Value> = sign_ups
        .iter()
        .zip(&participant_ids)
        .enumerate()
        .map(|(n, (s, participant_id))| {
            let d = s.details;
            serde_json::json!({
                "n": n,
                "public_id": new_public_id(),
                "trial_id": s.trial_id,
                "participant_id": participant_id,
                "attribute_value": d.attribute_value,
                "role": d.role,
                "site": d.site,
                "team": d.team,
                "meeting_modes": MeetingMode::join(&d.meeting_modes),
                "introduction": d.introduction,
            })
        })
        .collect();
    let query = sqlx::query_as::<_, (i64, i64, i64)>(&sql)
        .bind(&now)
        .bind(serde_json::Value::Array(input).to_string());
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
        let sql = format!(
            "SELECT id, trial_id, participant_id, state FROM memberships \
             WHERE participant_id IN (SELECT r.participant_id FROM {})",
            json_rows(backend, 1, "r", &[("participant_id", "BIGINT")])
        );
        let list: Vec<serde_json::Value> = members_before
            .iter()
            .map(|p| serde_json::json!({ "participant_id": p }))
            .collect();
        let query = sqlx::query_as::<_, (i64, i64, i64, String)>(&sql)
            .bind(serde_json::Value::Array(list).to_string());
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
    backend: &Backend,
    now: DateTime<Utc>,
    links: &[(i64, LinkPurpose, &str, DateTime<Utc>)],
) -> Result<(), StoreError> {
    if links.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO one_time_tokens (token_hash, purpose, membership_id, created_at, expires_at) \
         SELECT r.token_hash, r.purpose, r.membership_id, $1, r.expires_at FROM {} \
         ORDER BY r.n",
        json_rows(
            backend,
            2,
            "r",
            &[
                ("n", "BIGINT"),
                ("token_hash", "TEXT"),
                ("purpose", "TEXT"),
                ("membership_id", "BIGINT"),
                ("expires_at", "TEXT"),
            ]
        )
    );
    let rows: Vec<serde_json::Value> = links
        .iter()
        .enumerate()
        .map(|(n, (membership_id, purpose, hash, expires_at))| {
            serde_json::json!({
                "n": n,
                "token_hash": hash,
                "purpose": purpose.as_str(),
                "membership_id": membership_id,
                "expires_at": to_db(*expires_at),
            })
        })
        .collect();
    let query = sqlx::query(&sql)
        .bind(to_db(now))
        .bind(serde_json::Value::Array(rows).to_string());
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Queues several emails in one statement, as `outbox::enqueue` does one.
pub async fn enqueue(
    tx: &mut Transaction<'_, Any>,
    backend: &Backend,
    emails: &[NewEmail],
    message_domain: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if emails.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO outbox (message_id, template, to_address, participant_id, round_id, subject, \
         body_text, body_html, headers_json, attachments_json, next_attempt_at, created_at) \
         SELECT r.message_id, r.template, r.to_address, r.participant_id, r.round_id, r.subject, \
           r.body_text, r.body_html, r.headers_json, r.attachments_json, $1, $1 FROM {} \
         ORDER BY r.n",
        json_rows(
            backend,
            2,
            "r",
            &[
                ("n", "BIGINT"),
                ("message_id", "TEXT"),
                ("template", "TEXT"),
                ("to_address", "TEXT"),
                ("participant_id", "BIGINT"),
                ("round_id", "BIGINT"),
                ("subject", "TEXT"),
                ("body_text", "TEXT"),
                ("body_html", "TEXT"),
                ("headers_json", "TEXT"),
                ("attachments_json", "TEXT"),
            ]
        )
    );
    let rows: Vec<serde_json::Value> = emails
        .iter()
        .enumerate()
        .map(|(n, email)| {
            serde_json::json!({
                "n": n,
                "message_id": new_message_id(message_domain, now),
                "template": email.template,
                "to_address": email.to_address,
                "participant_id": email.participant_id,
                "round_id": email.round_id,
                "subject": email.subject,
                "body_text": email.body_text,
                "body_html": email.body_html,
                "headers_json": email.headers_json,
                "attachments_json": email.attachments_json,
            })
        })
        .collect();
    let query = sqlx::query(&sql)
        .bind(to_db(now))
        .bind(serde_json::Value::Array(rows).to_string());
    query.execute(&mut **tx).await?;
    Ok(())
}

/// A sign-up of a batch with what it writes in the usual case, a new pending membership of a
/// person stored under the name typed: its links, as (purpose, hash, expiry), and its email.
pub struct UsualSignUp<'a> {
    pub sign_up: NewSignUp<'a>,
    pub links: Vec<(LinkPurpose, &'a str, DateTime<Utc>)>,
    pub email: &'a NewEmail,
}

/// Where a sign-up of [`add_usual_sign_ups`] landed, and whether its links and email were
/// written with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub landed: Landed,
    pub complete: bool,
}

/// PostgreSQL only: the people, pending memberships, links and emails of a batch in one
/// statement, where `add_members`, `insert_link_tokens` and `enqueue` take four. Each round
/// trip costs both processes a wake-up and the server an executor start (5 % of the machine
/// in a profile under a crowd of sign-ups, with the inserts and their indexes the most). The rows
/// go as three JSON arrays, so the statement's text is the same whatever the batch's size:
/// each connection parses and plans it once, where a `VALUES` list with a parameter per
/// field would be a new statement, planned again, for every size.
///
/// A sign-up that finds its membership there already, or its person under another name, is
/// landed but not complete: its links and email depend on what was found, so the caller
/// writes them. Every sign-up finds what the ones before it in the batch wrote, as with
/// `add_members`. (SQLite has no `INSERT` inside `WITH`; in process, its round trips are
/// cheap anyway.)
pub async fn add_usual_sign_ups(
    tx: &mut Transaction<'_, Any>,
    sign_ups: &[UsualSignUp<'_>],
    message_domain: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Written>, StoreError> {
    if sign_ups.is_empty() {
        return Ok(Vec::new());
    }
    let mut input = Vec::with_capacity(sign_ups.len());
    let mut links = Vec::with_capacity(sign_ups.len() * 3);
    let mut mail = Vec::with_capacity(sign_ups.len());
    for (n, s) in sign_ups.iter().enumerate() {
        let d = s.sign_up.details;
        input.push(serde_json::json!({
            "n": n,
            "person_public_id": new_public_id(),
            "email": d.email.as_str(),
            "name": d.name.as_str(),
            "search_key": search_key(d.name.as_str(), Some(d.email.as_str())),
            "member_public_id": new_public_id(),
            "trial_id": s.sign_up.trial_id,
            "attribute_value": d.attribute_value,
            "role": d.role,
            "site": d.site,
            "team": d.team,
            "meeting_modes": MeetingMode::join(&d.meeting_modes),
            "introduction": d.introduction,
        }));
        for (purpose, hash, expires_at) in &s.links {
            links.push(serde_json::json!({
                "n": n,
                "purpose": purpose.as_str(),
                "token_hash": hash,
                "expires_at": to_db(*expires_at),
            }));
        }
        let e = s.email;
        mail.push(serde_json::json!({
            "n": n,
            "message_id": new_message_id(message_domain, now),
            "template": e.template,
            "to_address": e.to_address,
            "subject": e.subject,
            "body_text": e.body_text,
            "body_html": e.body_html,
            "headers_json": e.headers_json,
            "attachments_json": e.attachments_json,
        }));
    }
    // Rows of `participants` and `memberships` read here are those from before the statement;
    // the ones it inserts come from RETURNING. The reads are one index probe per row
    // (LATERAL ... LIMIT 1 is not flattened into a join): the rows of JSON are estimated at
    // a hundred, and a plan kept for the statement must not scan the tables as they grow.
    let rows: Vec<(i64, i64, String, Option<i64>, String, bool)> = sqlx::query_as(
        "WITH input AS (SELECT * FROM json_to_recordset($2::json) AS i (n BIGINT, \
           person_public_id TEXT, email TEXT, name TEXT, search_key TEXT, \
           member_public_id TEXT, trial_id BIGINT, attribute_value TEXT, role TEXT, site TEXT, \
           team TEXT, meeting_modes TEXT, introduction TEXT)), \
         links AS (SELECT * FROM json_to_recordset($3::json) AS k (n BIGINT, purpose TEXT, \
           token_hash TEXT, expires_at TEXT)), \
         mail AS (SELECT * FROM json_to_recordset($4::json) AS e (n BIGINT, message_id TEXT, \
           template TEXT, to_address TEXT, subject TEXT, body_text TEXT, body_html TEXT, \
           headers_json TEXT, attachments_json TEXT)), \
         new_people AS ( \
           INSERT INTO participants (public_id, email, name, created_at, updated_at, search_key) \
           SELECT person_public_id, email, name, $1, $1, search_key FROM input ORDER BY n \
           ON CONFLICT (email) DO NOTHING RETURNING id, email, name), \
         people AS ( \
           SELECT id, email, name FROM new_people \
           UNION ALL \
           SELECT p.id, p.email, p.name FROM (SELECT DISTINCT email FROM input) i \
           CROSS JOIN LATERAL (SELECT id, email, name FROM participants \
             WHERE email = i.email LIMIT 1) p), \
         new_members AS ( \
           INSERT INTO memberships (public_id, trial_id, participant_id, state, attribute_value, \
             role, site, team, meeting_modes, introduction, consent_at, created_at, updated_at) \
           SELECT i.member_public_id, i.trial_id, p.id, 'pending', i.attribute_value, i.role, \
             i.site, i.team, i.meeting_modes, i.introduction, $1, $1, $1 \
           FROM input i JOIN people p ON p.email = i.email ORDER BY i.n \
           ON CONFLICT (trial_id, participant_id) DO NOTHING \
           RETURNING id, trial_id, participant_id), \
         landed AS ( \
           SELECT i.n, p.id AS participant_id, p.name, \
             COALESCE(nm.id, m.id) AS membership_id, COALESCE(m.state, 'pending') AS state, \
             nm.id IS NOT NULL AND p.name = i.name AS complete \
           FROM input i JOIN people p ON p.email = i.email \
           LEFT JOIN new_members nm ON nm.trial_id = i.trial_id AND nm.participant_id = p.id \
           LEFT JOIN LATERAL (SELECT id, state FROM memberships \
             WHERE trial_id = i.trial_id AND participant_id = p.id LIMIT 1) m ON TRUE), \
         tokens AS ( \
           INSERT INTO one_time_tokens (token_hash, purpose, membership_id, created_at, \
             expires_at) \
           SELECT k.token_hash, k.purpose, l.membership_id, $1, k.expires_at \
           FROM landed l JOIN links k ON k.n = l.n WHERE l.complete), \
         queued AS ( \
           INSERT INTO outbox (message_id, template, to_address, participant_id, subject, \
             body_text, body_html, headers_json, attachments_json, next_attempt_at, created_at) \
           SELECT e.message_id, e.template, e.to_address, l.participant_id, e.subject, \
             e.body_text, e.body_html, e.headers_json, e.attachments_json, $1, $1 \
           FROM landed l JOIN mail e ON e.n = l.n WHERE l.complete ORDER BY l.n) \
         SELECT n, participant_id, name, membership_id, state, complete FROM landed",
    )
    .bind(to_db(now))
    .bind(serde_json::Value::Array(input).to_string())
    .bind(serde_json::Value::Array(links).to_string())
    .bind(serde_json::Value::Array(mail).to_string())
    .fetch_all(&mut **tx)
    .await?;
    let mut written: Vec<Option<Written>> = vec![None; sign_ups.len()];
    for (n, participant_id, name, membership_id, state, complete) in rows {
        let membership_id = membership_id.ok_or(StoreError::Sql(sqlx::Error::RowNotFound))?;
        let state = columns::stored("state", &state, MembershipState::parse)?;
        let slot = usize::try_from(n)
            .ok()
            .and_then(|n| written.get_mut(n))
            .ok_or(StoreError::Sql(sqlx::Error::RowNotFound))?;
        *slot = Some(Written {
            landed: Landed {
                membership_id,
                participant_id,
                name,
                state,
            },
            complete,
        });
    }
    // A sign-up missing here found its address taken by a transaction that committed while
    // this statement ran, after its snapshot: the caller writes the batch again.
    written
        .into_iter()
        .map(|w| w.ok_or(StoreError::Sql(sqlx::Error::RowNotFound)))
        .collect()
}
