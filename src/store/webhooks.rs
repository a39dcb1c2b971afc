//! Webhook endpoints and their delivery outbox. A change that a receiver may hear of calls
//! [`queue_event`] inside its own transaction, so a delivery exists exactly when the change
//! does; the delivery worker (`crate::webhooks`) claims, sends and records them.
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

use super::columns;
use super::time::to_db;
use super::{Store, StoreError};
use crate::domain::{
    envelope, events_from_text, events_to_text, round_announcement, EndpointKind, PersonPayload,
    WebhookEvent,
};

/// An endpoint as organisers see it. The secret is not here: it is shown once, at
/// registration, and read again only by the delivery worker.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub id: i64,
    pub trial_id: i64,
    pub kind: EndpointKind,
    pub url: String,
    pub description: String,
    pub events: Vec<WebhookEvent>,
    pub personal_data: bool,
    pub enabled: bool,
    pub failing_since: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i64>,
    pub last_answer: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl FromRow<'_, AnyRow> for Endpoint {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let events: String = row.try_get("events")?;
        Ok(Self {
            id: row.try_get("id")?,
            trial_id: row.try_get("trial_id")?,
            kind: columns::word(row, "kind", EndpointKind::parse)?,
            url: row.try_get("url")?,
            description: row.try_get("description")?,
            events: events_from_text(&events),
            personal_data: columns::flag(row, "personal_data")?,
            enabled: columns::flag(row, "enabled")?,
            failing_since: columns::optional_time(row, "failing_since")?,
            disabled_at: columns::optional_time(row, "disabled_at")?,
            last_attempt_at: columns::optional_time(row, "last_attempt_at")?,
            last_status: row.try_get("last_status")?,
            last_answer: row.try_get("last_answer")?,
            last_error: row.try_get("last_error")?,
            created_at: columns::time(row, "created_at")?,
        })
    }
}

const ENDPOINT_COLUMNS: &str = "id, trial_id, kind, url, description, events, personal_data, \
     enabled, failing_since, disabled_at, last_attempt_at, last_status, last_answer, last_error, \
     created_at";

/// A checked registration, ready to be saved.
#[derive(Clone, Debug)]
pub struct NewEndpoint<'a> {
    pub trial_id: i64,
    pub kind: EndpointKind,
    pub url: &'a str,
    pub description: &'a str,
    pub events: &'a [WebhookEvent],
    pub personal_data: bool,
    pub secret: &'a str,
}

/// A delivery as the console shows it.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: i64,
    pub message_id: String,
    pub event: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i64>,
    pub last_answer: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl FromRow<'_, AnyRow> for Delivery {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            message_id: row.try_get("message_id")?,
            event: row.try_get("event")?,
            state: row.try_get("state")?,
            attempts: row.try_get("attempts")?,
            next_attempt_at: columns::time(row, "next_attempt_at")?,
            last_status: row.try_get("last_status")?,
            last_answer: row.try_get("last_answer")?,
            last_error: row.try_get("last_error")?,
            created_at: columns::time(row, "created_at")?,
            sent_at: columns::optional_time(row, "sent_at")?,
        })
    }
}

impl Store {
    pub async fn insert_webhook_endpoint(
        &self,
        new: &NewEndpoint<'_>,
        now: DateTime<Utc>,
    ) -> Result<Endpoint, StoreError> {
        let sql = format!(
            "INSERT INTO webhook_endpoints (trial_id, kind, url, description, events, \
             personal_data, secret, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {ENDPOINT_COLUMNS}"
        );
        Ok(sqlx::query_as(&sql)
            .bind(new.trial_id)
            .bind(new.kind.as_str())
            .bind(new.url)
            .bind(new.description)
            .bind(events_to_text(new.events))
            .bind(i64::from(new.personal_data))
            .bind(new.secret)
            .bind(to_db(now))
            .fetch_one(self.pool())
            .await?)
    }

    pub async fn list_webhook_endpoints(&self, trial_id: i64) -> Result<Vec<Endpoint>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE trial_id = $1 ORDER BY id"
        );
        Ok(sqlx::query_as(&sql)
            .bind(trial_id)
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn find_webhook_endpoint(
        &self,
        trial_id: i64,
        id: i64,
    ) -> Result<Option<Endpoint>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE trial_id = $1 AND id = $2"
        );
        Ok(sqlx::query_as(&sql)
            .bind(trial_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Deletes an endpoint of this trial with its deliveries; false when there was none.
    pub async fn delete_webhook_endpoint(
        &self,
        trial_id: i64,
        id: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "DELETE FROM webhook_deliveries WHERE endpoint_id IN \
             (SELECT id FROM webhook_endpoints WHERE trial_id = $1 AND id = $2)",
        )
        .bind(trial_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE trial_id = $1 AND id = $2")
            .bind(trial_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Switches an endpoint back on after an organiser fixed the receiver; the failure clock
    /// starts afresh. Deliveries that gave up stay given up.
    pub async fn enable_webhook_endpoint(
        &self,
        trial_id: i64,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET enabled = 1, disabled_at = NULL, failing_since = NULL, \
             updated_at = $1 WHERE trial_id = $2 AND id = $3",
        )
        .bind(to_db(now))
        .bind(trial_id)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The latest deliveries of an endpoint, newest first.
    pub async fn recent_webhook_deliveries(
        &self,
        endpoint_id: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, message_id, event, state, attempts, next_attempt_at, last_status, \
             last_answer, last_error, created_at, sent_at FROM webhook_deliveries \
             WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(endpoint_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}

// ---- Queueing: one call inside each transaction that changes something receivers hear of.

/// What happened, named by the rows that say so.
#[derive(Clone, Copy, Debug)]
pub enum Fact {
    ParticipantConfirmed { membership_id: i64 },
    ParticipantLeft { membership_id: i64 },
    RoundPublished { round_id: i64 },
    FeedbackRecorded { group_id: i64, membership_id: i64 },
    EventCheckedIn { membership_id: i64 },
}

impl Fact {
    fn event(self) -> WebhookEvent {
        match self {
            Fact::ParticipantConfirmed { .. } => WebhookEvent::ParticipantConfirmed,
            Fact::ParticipantLeft { .. } => WebhookEvent::ParticipantLeft,
            Fact::RoundPublished { .. } => WebhookEvent::RoundPublished,
            Fact::FeedbackRecorded { .. } => WebhookEvent::FeedbackRecorded,
            Fact::EventCheckedIn { .. } => WebhookEvent::EventCheckedIn,
        }
    }
}

/// The endpoints that want an event, with what each may be told.
struct Subscriber {
    id: i64,
    kind: EndpointKind,
    personal_data: bool,
}

/// Writes one delivery per enabled endpoint of the trial subscribed to this event, in the
/// caller's transaction. With no such endpoint (the usual case) it costs one indexed read.
/// Answers how many deliveries it wrote.
pub async fn queue_event(
    tx: &mut Transaction<'_, Any>,
    fact: Fact,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let event = fact.event();
    let trial_sql = match fact {
        Fact::RoundPublished { .. } => "SELECT trial_id FROM rounds WHERE id = $1",
        _ => "SELECT trial_id FROM memberships WHERE id = $1",
    };
    let key = match fact {
        Fact::RoundPublished { round_id } => round_id,
        Fact::ParticipantConfirmed { membership_id }
        | Fact::ParticipantLeft { membership_id }
        | Fact::FeedbackRecorded { membership_id, .. }
        | Fact::EventCheckedIn { membership_id } => membership_id,
    };
    let Some((trial_id,)): Option<(i64,)> = sqlx::query_as(trial_sql)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(0);
    };
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT id, kind, events, personal_data FROM webhook_endpoints \
         WHERE trial_id = $1 AND enabled = 1 ORDER BY id",
    )
    .bind(trial_id)
    .fetch_all(&mut **tx)
    .await?;
    let subscribers: Vec<Subscriber> = rows
        .into_iter()
        .filter(|(_, _, events, _)| events_from_text(events).contains(&event))
        .filter_map(|(id, kind, _, personal)| {
            let kind = EndpointKind::parse(&kind)?;
            // A chat channel is told of rounds only, whatever its row says.
            (!kind.is_chat() || event == WebhookEvent::RoundPublished).then_some(Subscriber {
                id,
                kind,
                personal_data: personal == 1 && !kind.is_chat(),
            })
        })
        .collect();
    if subscribers.is_empty() {
        return Ok(0);
    }
    let (slug, trial_name, attribute_name): (String, String, String) =
        sqlx::query_as("SELECT slug, name, attribute_name FROM trials WHERE id = $1")
            .bind(trial_id)
            .fetch_one(&mut **tx)
            .await?;
    let timestamp = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let facts = load_facts(tx, fact).await?;
    for s in &subscribers {
        let body = if s.kind.is_chat() {
            let FactRows::Round {
                number, members, ..
            } = &facts
            else {
                continue;
            };
            let mut values: Vec<&str> = members
                .iter()
                .map(|m| m.attribute_value.trim())
                .filter(|v| !v.is_empty())
                .collect();
            values.sort_unstable();
            values.dedup();
            // The worker wraps this in the product's own shape, with the library's address.
            serde_json::json!({
                "announcement": round_announcement(
                    *number,
                    &trial_name,
                    members.len(),
                    &attribute_name,
                    values.len(),
                )
            })
            .to_string()
        } else {
            envelope(event, &timestamp, facts.data(&slug, s.personal_data))
        };
        sqlx::query(
            "INSERT INTO webhook_deliveries (endpoint_id, message_id, event, body, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(s.id)
        .bind(format!("msg_{}", &crate::tokens::new_token()[..32]))
        .bind(event.as_str())
        .bind(body)
        .bind(to_db(now))
        .execute(&mut **tx)
        .await?;
    }
    Ok(subscribers.len())
}

#[derive(FromRow)]
struct PersonRow {
    public_id: String,
    name: String,
    email: Option<String>,
}

#[derive(FromRow)]
struct MemberRow {
    position: i64,
    public_id: String,
    name: String,
    email: Option<String>,
    attribute_value: String,
}

enum FactRows {
    Person {
        person: PersonRow,
        extra: serde_json::Map<String, serde_json::Value>,
    },
    Round {
        number: i64,
        published_at: Option<String>,
        members: Vec<MemberRow>,
    },
}

impl FactRows {
    fn data(&self, slug: &str, personal_data: bool) -> serde_json::Value {
        let person = |p: &PersonRow| {
            PersonPayload::new(&p.public_id, &p.name, p.email.as_deref(), personal_data)
        };
        match self {
            FactRows::Person { person: p, extra } => {
                let mut data = serde_json::Map::new();
                data.insert("trial".into(), slug.into());
                data.insert(
                    "participant".into(),
                    serde_json::to_value(person(p)).unwrap_or_default(),
                );
                data.extend(extra.clone());
                serde_json::Value::Object(data)
            }
            FactRows::Round {
                number,
                published_at,
                members,
            } => {
                let mut groups: Vec<serde_json::Value> = Vec::new();
                let mut current: Option<(i64, Vec<PersonPayload>)> = None;
                for m in members {
                    let p = PersonPayload::new(
                        &m.public_id,
                        &m.name,
                        m.email.as_deref(),
                        personal_data,
                    );
                    match &mut current {
                        Some((pos, list)) if *pos == m.position => list.push(p),
                        _ => {
                            if let Some((pos, list)) = current.take() {
                                groups.push(
                                    serde_json::json!({ "number": pos + 1, "members": list }),
                                );
                            }
                            current = Some((m.position, vec![p]));
                        }
                    }
                }
                if let Some((pos, list)) = current {
                    groups.push(serde_json::json!({ "number": pos + 1, "members": list }));
                }
                serde_json::json!({
                    "trial": slug,
                    "round": { "number": number, "published_at": published_at, "groups": groups },
                })
            }
        }
    }
}

const PERSON_SQL: &str = "SELECT m.public_id, p.name, p.email FROM memberships m \
     JOIN participants p ON p.id = m.participant_id WHERE m.id = $1";

async fn load_facts(tx: &mut Transaction<'_, Any>, fact: Fact) -> Result<FactRows, StoreError> {
    match fact {
        Fact::RoundPublished { round_id } => {
            let (number, published_at): (i64, Option<String>) =
                sqlx::query_as("SELECT number, published_at FROM rounds WHERE id = $1")
                    .bind(round_id)
                    .fetch_one(&mut **tx)
                    .await?;
            let members: Vec<MemberRow> = sqlx::query_as(
                "SELECT g.position, m.public_id, p.name, p.email, m.attribute_value \
                 FROM round_groups g JOIN round_group_members gm ON gm.group_id = g.id \
                 JOIN memberships m ON m.id = gm.membership_id \
                 JOIN participants p ON p.id = m.participant_id \
                 WHERE g.round_id = $1 ORDER BY g.position, m.public_id",
            )
            .bind(round_id)
            .fetch_all(&mut **tx)
            .await?;
            Ok(FactRows::Round {
                number,
                published_at,
                members,
            })
        }
        Fact::FeedbackRecorded {
            group_id,
            membership_id,
        } => {
            let person: PersonRow = sqlx::query_as(PERSON_SQL)
                .bind(membership_id)
                .fetch_one(&mut **tx)
                .await?;
            let (round, position, outcome): (i64, i64, String) = sqlx::query_as(
                "SELECT r.number, g.position, f.outcome FROM round_groups g \
                 JOIN rounds r ON r.id = g.round_id \
                 JOIN feedback f ON f.group_id = g.id AND f.membership_id = $2 \
                 WHERE g.id = $1",
            )
            .bind(group_id)
            .bind(membership_id)
            .fetch_one(&mut **tx)
            .await?;
            let mut extra = serde_json::Map::new();
            extra.insert("round".into(), round.into());
            extra.insert("group".into(), (position + 1).into());
            extra.insert("outcome".into(), outcome.into());
            Ok(FactRows::Person { person, extra })
        }
        Fact::ParticipantConfirmed { membership_id }
        | Fact::ParticipantLeft { membership_id }
        | Fact::EventCheckedIn { membership_id } => {
            let person: PersonRow = sqlx::query_as(PERSON_SQL)
                .bind(membership_id)
                .fetch_one(&mut **tx)
                .await?;
            Ok(FactRows::Person {
                person,
                extra: serde_json::Map::new(),
            })
        }
    }
}

// ---- Delivery: claiming, recording outcomes, switching off an endpoint that keeps failing.

/// A delivery claimed for sending, with what is needed to send it. Outcomes are recorded
/// only while `lease_until` still holds, as for email.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub endpoint_id: i64,
    pub trial_id: i64,
    pub message_id: String,
    pub body: String,
    pub attempts: i64,
    pub lease_until: String,
    pub kind: EndpointKind,
    pub url: String,
    pub secret: String,
    pub enabled: bool,
}

impl FromRow<'_, AnyRow> for ClaimedDelivery {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            endpoint_id: row.try_get("endpoint_id")?,
            trial_id: row.try_get("trial_id")?,
            message_id: row.try_get("message_id")?,
            body: row.try_get("body")?,
            attempts: row.try_get("attempts")?,
            lease_until: row.try_get("lease_until")?,
            kind: columns::word(row, "kind", EndpointKind::parse)?,
            url: row.try_get("url")?,
            secret: row.try_get("secret")?,
            enabled: columns::flag(row, "enabled")?,
        })
    }
}

impl Store {
    /// Claims up to `limit` due deliveries (or ones whose sender's lease ran out), as the
    /// email outbox does: PostgreSQL skips rows another worker is claiming; SQLite's single
    /// `UPDATE ... RETURNING` is exclusive already.
    pub async fn claim_due_webhook_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let lock = match self.backend() {
            super::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            super::Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE webhook_deliveries SET state = 'sending', lease_until = $1, \
               attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM webhook_deliveries \
               WHERE state IN ('queued', 'sending') \
                 AND ((state = 'queued' AND next_attempt_at <= $2) \
                   OR (state = 'sending' AND lease_until < $2)) \
               ORDER BY next_attempt_at, id LIMIT $3{lock}) \
             RETURNING id"
        );
        let ids: Vec<(i64,)> = sqlx::query_as(&sql)
            .bind(to_db(lease_until))
            .bind(to_db(now))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let mut claimed = Vec::with_capacity(ids.len());
        for (id,) in ids {
            let row: Option<ClaimedDelivery> = sqlx::query_as(
                "SELECT d.id, d.endpoint_id, e.trial_id, d.message_id, d.body, d.attempts, \
                   d.lease_until, e.kind, e.url, e.secret, e.enabled \
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                 WHERE d.id = $1",
            )
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
            claimed.extend(row);
        }
        claimed.sort_by_key(|d| d.id);
        Ok(claimed)
    }

    /// Records a delivery the receiver accepted; the endpoint works again.
    pub async fn record_webhook_sent(
        &self,
        d: &ClaimedDelivery,
        status: i64,
        answer: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'sent', sent_at = $1, lease_until = NULL, \
               last_status = $2, last_answer = $3, last_error = NULL \
             WHERE id = $4 AND state = 'sending' AND lease_until = $5",
        )
        .bind(to_db(now))
        .bind(status)
        .bind(answer)
        .bind(d.id)
        .bind(&d.lease_until)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            sqlx::query(
                "UPDATE webhook_endpoints SET failing_since = NULL, last_attempt_at = $1, \
                   last_status = $2, last_answer = $3, last_error = NULL, updated_at = $1 \
                 WHERE id = $4",
            )
            .bind(to_db(now))
            .bind(status)
            .bind(answer)
            .bind(d.endpoint_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// What one failed attempt leaves behind.
#[derive(Clone, Debug)]
pub struct Failure<'a> {
    pub status: Option<i64>,
    pub answer: Option<&'a str>,
    pub error: &'a str,
    /// When to try again, or None to give up on this delivery.
    pub retry_at: Option<DateTime<Utc>>,
}

/// The endpoint a failure has just switched off, for the email to the trial's organisers.
#[derive(Clone, Debug)]
pub struct SwitchedOff {
    pub trial_slug: String,
    pub trial_name: String,
    pub url: String,
    pub failing_since: DateTime<Utc>,
    /// Admins and the organisers granted the trial, still able to sign in.
    pub organisers: Vec<String>,
}

/// Records a failed attempt, inside the caller's transaction (so that the email about an
/// endpoint switched off is queued with the switch). The endpoint's failure clock starts at
/// its first failure; when that is at or before `switch_off_before`, the endpoint is switched
/// off and this answers what the email needs. False-lease (taken over) outcomes are dropped.
pub async fn record_webhook_failure(
    tx: &mut Transaction<'_, Any>,
    d: &ClaimedDelivery,
    failure: &Failure<'_>,
    now: DateTime<Utc>,
    switch_off_before: DateTime<Utc>,
) -> Result<Option<SwitchedOff>, StoreError> {
    let (state, next) = match failure.retry_at {
        Some(at) => ("queued", to_db(at)),
        None => ("failed", to_db(now)),
    };
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET state = $1, next_attempt_at = $2, lease_until = NULL, \
           last_status = $3, last_answer = $4, last_error = $5 \
         WHERE id = $6 AND state = 'sending' AND lease_until = $7",
    )
    .bind(state)
    .bind(next)
    .bind(failure.status)
    .bind(failure.answer)
    .bind(failure.error)
    .bind(d.id)
    .bind(&d.lease_until)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(None);
    }
    sqlx::query(
        "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1), \
           last_attempt_at = $1, last_status = $2, last_answer = $3, last_error = $4, \
           updated_at = $1 WHERE id = $5",
    )
    .bind(to_db(now))
    .bind(failure.status)
    .bind(failure.answer)
    .bind(failure.error)
    .bind(d.endpoint_id)
    .execute(&mut **tx)
    .await?;
    let switched: Option<(String,)> = sqlx::query_as(
        "UPDATE webhook_endpoints SET enabled = 0, disabled_at = $1 \
         WHERE id = $2 AND enabled = 1 AND failing_since <= $3 RETURNING failing_since",
    )
    .bind(to_db(now))
    .bind(d.endpoint_id)
    .bind(to_db(switch_off_before))
    .fetch_optional(&mut **tx)
    .await?;
    let Some((since,)) = switched else {
        return Ok(None);
    };
    // Nothing more goes to a receiver that is switched off.
    sqlx::query(
        "UPDATE webhook_deliveries SET state = 'failed', lease_until = NULL, \
           last_error = 'the endpoint was switched off' \
         WHERE endpoint_id = $1 AND state = 'queued'",
    )
    .bind(d.endpoint_id)
    .execute(&mut **tx)
    .await?;
    let (trial_slug, trial_name): (String, String) =
        sqlx::query_as("SELECT slug, name FROM trials WHERE id = $1")
            .bind(d.trial_id)
            .fetch_one(&mut **tx)
            .await?;
    let organisers: Vec<(String,)> = sqlx::query_as(
        "SELECT o.email FROM organisers o WHERE o.disabled_at IS NULL AND (o.is_admin = 1 \
           OR o.id IN (SELECT organiser_id FROM trial_organisers WHERE trial_id = $1)) \
         ORDER BY o.email",
    )
    .bind(d.trial_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(Some(SwitchedOff {
        trial_slug,
        trial_name,
        url: d.url.clone(),
        failing_since: super::time::from_db(&since).unwrap_or(now),
        organisers: organisers.into_iter().map(|(e,)| e).collect(),
    }))
}
