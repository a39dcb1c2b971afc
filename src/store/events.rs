//! Events: who is in the room (checked in, or marked as left) and the quick rounds run there.
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

use super::participants::new_public_id;
use super::rounds::{insert_groups, Candidate, NewGroup, Round};
use super::time::to_db;
use super::{columns, Store, StoreError};
use crate::domain::{MeetingMode, MembershipState, ParticipantDetails};

/// Only the first check-in of a person is news to a receiver; ticking again changes nothing.
async fn checked_in_hook(
    tx: &mut Transaction<'_, Any>,
    membership_id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    super::webhooks::queue_event(
        tx,
        super::webhooks::Fact::EventCheckedIn { membership_id },
        now,
    )
    .await?;
    Ok(())
}

/// A person of an event as the check-in list shows them.
#[derive(Clone, Debug)]
pub struct EventPerson {
    pub membership_id: i64,
    pub public_id: String,
    pub name: String,
    pub state: MembershipState,
    pub attribute_value: String,
    pub checked_in_at: Option<DateTime<Utc>>,
    /// Went home during the event (see `mark_left`).
    pub left_room_at: Option<DateTime<Utc>>,
}

impl FromRow<'_, AnyRow> for EventPerson {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(EventPerson {
            membership_id: row.try_get("membership_id")?,
            public_id: row.try_get("public_id")?,
            name: row.try_get("name")?,
            state: columns::word(row, "state", MembershipState::parse)?,
            attribute_value: row.try_get("attribute_value")?,
            checked_in_at: columns::optional_time(row, "checked_in_at")?,
            left_room_at: columns::optional_time(row, "left_room_at")?,
        })
    }
}

impl EventPerson {
    /// Out of the trial altogether (not just gone home from the room).
    pub fn left_trial(&self) -> bool {
        self.state == MembershipState::Left
    }

    pub fn is_checked_in(&self) -> bool {
        self.checked_in_at.is_some() && !self.has_left()
    }

    /// Gone from the room, or out of the trial altogether.
    pub fn has_left(&self) -> bool {
        self.left_room_at.is_some() || self.left_trial()
    }
}

/// One person's place in a round: their group's table and the others in it.
#[derive(Clone, Debug, FromRow)]
pub struct Seat {
    pub group_id: i64,
    pub table_label: Option<String>,
}

const ROUND_COLUMNS: &str =
    "id, trial_id, number, kind, state, seed, slot, created_at, published_at";

impl Store {
    /// Everyone of the event except erased people, by name; `search` matches part of a name,
    /// whatever its case. The matching is done here rather than with SQL `LOWER`/`LIKE`, which
    /// fold only ASCII on SQLite (and on PostgreSQL under the C locale), so "émile" would not
    /// find "Émile"; an event is small enough to read whole.
    pub async fn event_people(
        &self,
        trial_id: i64,
        search: Option<&str>,
    ) -> Result<Vec<EventPerson>, StoreError> {
        let mut people: Vec<EventPerson> = sqlx::query_as(
            "SELECT m.id AS membership_id, m.public_id, p.name, m.state, m.attribute_value, \
               m.checked_in_at, m.left_room_at \
             FROM memberships m JOIN participants p ON p.id = m.participant_id \
             WHERE m.trial_id = $1 AND m.state <> 'erased' \
             ORDER BY m.id",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?;
        if let Some(needle) = search.map(|s| super::search::fold(s.trim())) {
            people.retain(|p| super::search::fold(&p.name).contains(&needle));
        }
        // Stable: people with the same name stay in the order they signed up.
        people.sort_by_cached_key(|p| p.name.to_lowercase());
        Ok(people)
    }

    /// Marks a person of the trial as present. The first check-in time is kept, so ticking
    /// twice changes nothing; ticking someone marked as gone home brings them back. People who
    /// have left the trial or were erased are not checked in.
    pub async fn check_in(
        &self,
        trial_id: i64,
        public_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        // The first check-in, found by its own update so that the write comes first.
        let first: Option<(i64,)> = sqlx::query_as(
            "UPDATE memberships SET checked_in_at = $1, left_room_at = NULL, updated_at = $1 \
             WHERE trial_id = $2 AND public_id = $3 AND state NOT IN ('left', 'erased') \
               AND checked_in_at IS NULL RETURNING id",
        )
        .bind(to_db(now))
        .bind(trial_id)
        .bind(public_id)
        .fetch_optional(&mut *tx)
        .await?;
        let changed = match first {
            Some((membership_id,)) => {
                checked_in_hook(&mut tx, membership_id, now).await?;
                true
            }
            None => {
                let done = sqlx::query(
                    "UPDATE memberships SET checked_in_at = COALESCE(checked_in_at, $1), \
                       left_room_at = NULL, updated_at = $1 \
                     WHERE trial_id = $2 AND public_id = $3 AND state NOT IN ('left', 'erased')",
                )
                .bind(to_db(now))
                .bind(trial_id)
                .bind(public_id)
                .execute(&mut *tx)
                .await?;
                done.rows_affected() == 1
            }
        };
        tx.commit().await?;
        Ok(changed)
    }

    /// Marks a person as gone home: no longer checked in, so no quick round pairs them, until
    /// an organiser ticks them again. They stay in the trial, so the summary still reaches them.
    pub async fn mark_left(
        &self,
        trial_id: i64,
        public_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let now = to_db(now);
        let done = sqlx::query(
            "UPDATE memberships SET left_room_at = $1, checked_in_at = NULL, updated_at = $1 \
             WHERE trial_id = $2 AND public_id = $3 AND state NOT IN ('left', 'erased') \
               AND left_room_at IS NULL",
        )
        .bind(&now)
        .bind(trial_id)
        .bind(public_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The people a quick round pairs: checked in and still here. Pending people count: the
    /// organiser vouches for who is in the room.
    pub async fn event_candidates(&self, trial_id: i64) -> Result<Vec<Candidate>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id AS membership_id, public_id, attribute_value, team FROM memberships \
             WHERE trial_id = $1 AND checked_in_at IS NOT NULL AND left_room_at IS NULL \
               AND state IN ('pending', 'active', 'paused') \
             ORDER BY id",
        )
        .bind(trial_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The number the trial's next round will have.
    pub async fn next_round_number(&self, trial_id: i64) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COALESCE(MAX(number), 0) + 1 AS n FROM rounds WHERE trial_id = $1",
        )
        .bind(trial_id)
        .fetch_one(self.pool())
        .await?;
        Ok(n)
    }

    /// The newest published quick round of the trial.
    pub async fn latest_quick_round(&self, trial_id: i64) -> Result<Option<Round>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ROUND_COLUMNS} FROM rounds WHERE trial_id = $1 AND kind = 'quick' \
             AND state = 'published' ORDER BY number DESC LIMIT 1"
        ))
        .bind(trial_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Where a person sits in a round, if they are in it.
    pub async fn seat_in_round(
        &self,
        round_id: i64,
        membership_id: i64,
    ) -> Result<Option<Seat>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT g.id AS group_id, g.table_label FROM round_groups g \
             JOIN round_group_members gm ON gm.group_id = g.id \
             WHERE g.round_id = $1 AND gm.membership_id = $2",
        )
        .bind(round_id)
        .bind(membership_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Checks in the person behind an event-page link ("I'm here").
    pub async fn check_in_membership(
        &self,
        membership_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let first = sqlx::query(
            "UPDATE memberships SET checked_in_at = $1, updated_at = $1 \
             WHERE id = $2 AND state NOT IN ('left', 'erased') AND left_room_at IS NULL \
               AND checked_in_at IS NULL",
        )
        .bind(to_db(now))
        .bind(membership_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let changed = if first {
            checked_in_hook(&mut tx, membership_id, now).await?;
            true
        } else {
            let done = sqlx::query(
                "UPDATE memberships SET checked_in_at = COALESCE(checked_in_at, $1), updated_at = $1 \
                 WHERE id = $2 AND state NOT IN ('left', 'erased') AND left_room_at IS NULL",
            )
            .bind(to_db(now))
            .bind(membership_id)
            .execute(&mut *tx)
            .await?;
            done.rows_affected() == 1
        };
        tx.commit().await?;
        Ok(changed)
    }

    /// How many people have been sent the summary of the event.
    pub async fn summaries_sent(&self, trial_id: i64) -> Result<i64, StoreError> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) AS n FROM event_summaries WHERE trial_id = $1")
                .bind(trial_id)
                .fetch_one(self.pool())
                .await?;
        Ok(n)
    }

    /// Whether a membership is checked in, and whether it was marked as gone home.
    pub async fn room_status(&self, membership_id: i64) -> Result<(bool, bool), StoreError> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT checked_in_at, left_room_at FROM memberships WHERE id = $1")
                .bind(membership_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map_or((false, false), |(checked_in, left)| {
            (checked_in.is_some(), left.is_some())
        }))
    }
}

/// Who an event sign-up was recorded as.
#[derive(Clone, Copy, Debug)]
pub struct EventSignUp {
    pub membership_id: i64,
    pub participant_id: i64,
}

/// Records an event sign-up inside the sign-up's transaction: `active` at once, so that it can
/// be paired in the room, while `confirmed_at` stays empty until the emailed link is followed.
///
/// An address nobody has used gets a new person, as any sign-up does. An address already known
/// gets a person of its own, with no address and only the name typed on the phone; the typed
/// address waits in `claimed_email` until its owner confirms it (see `join_claimed_identity`).
/// Until then the sign-up neither sees nor changes the existing person, and both cases answer
/// alike, so the phone page cannot be used to find out whether an address is known.
pub async fn insert_event_sign_up(
    tx: &mut Transaction<'_, Any>,
    trial_id: i64,
    d: &ParticipantDetails,
    now: DateTime<Utc>,
) -> Result<EventSignUp, StoreError> {
    let now = to_db(now);
    // The insert itself decides whether the address is known, so that two sign-ups at the
    // same moment cannot both believe it new.
    let new_person: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO participants (public_id, email, name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(new_public_id())
    .bind(d.email.as_str())
    .bind(d.name.as_str())
    .bind(&now)
    .fetch_optional(&mut **tx)
    .await?;
    let (participant_id, claimed_email) = match new_person {
        Some((id,)) => (id, None),
        None => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO participants (public_id, email, name, created_at, updated_at) \
                 VALUES ($1, NULL, $2, $3, $3) RETURNING id",
            )
            .bind(new_public_id())
            .bind(d.name.as_str())
            .bind(&now)
            .fetch_one(&mut **tx)
            .await?;
            (id, Some(d.email.as_str()))
        }
    };
    let (membership_id,): (i64,) = sqlx::query_as(
        "INSERT INTO memberships (public_id, trial_id, participant_id, state, attribute_value, \
         role, site, team, meeting_modes, introduction, consent_at, confirmed_at, claimed_email, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $10, NULL, $11, $10, $10) \
         RETURNING id",
    )
    .bind(new_public_id())
    .bind(trial_id)
    .bind(participant_id)
    .bind(&d.attribute_value)
    .bind(&d.role)
    .bind(&d.site)
    .bind(&d.team)
    .bind(MeetingMode::join(&d.meeting_modes))
    .bind(&d.introduction)
    .bind(&now)
    .bind(claimed_email)
    .fetch_one(&mut **tx)
    .await?;
    Ok(EventSignUp {
        membership_id,
        participant_id,
    })
}

/// After a confirmation link has been used for `membership_id`, inside the same transaction:
/// an event sign-up made with a known address becomes that address's person now that its
/// owner has proved it. With no membership of theirs in the trial, the sign-up is simply
/// moved to them; with one, the two are merged into theirs (see `merge_membership`). The
/// stand-in person is then deleted. Returns the membership the confirmation ends up on.
pub async fn join_claimed_identity(
    tx: &mut Transaction<'_, Any>,
    membership_id: i64,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let row: Option<(i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT trial_id, participant_id, claimed_email FROM memberships WHERE id = $1",
    )
    .bind(membership_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((trial_id, stand_in, Some(email))) = row else {
        return Ok(membership_id);
    };
    let now_text = to_db(now);
    let owner: Option<(i64,)> = sqlx::query_as("SELECT id FROM participants WHERE email = $1")
        .bind(&email)
        .fetch_optional(&mut **tx)
        .await?;
    let Some((owner,)) = owner else {
        // The person who had the address has been erased since: the address is free, and
        // its owner has just proved it, so the sign-up's own person takes it.
        sqlx::query("UPDATE participants SET email = $1, updated_at = $2 WHERE id = $3")
            .bind(&email)
            .bind(&now_text)
            .bind(stand_in)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE memberships SET claimed_email = NULL WHERE id = $1")
            .bind(membership_id)
            .execute(&mut **tx)
            .await?;
        return Ok(membership_id);
    };
    let theirs: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM memberships WHERE trial_id = $1 AND participant_id = $2")
            .bind(trial_id)
            .bind(owner)
            .fetch_optional(&mut **tx)
            .await?;
    let joined = match theirs {
        None => {
            sqlx::query(
                "UPDATE memberships SET participant_id = $1, claimed_email = NULL, \
                 updated_at = $2 WHERE id = $3",
            )
            .bind(owner)
            .bind(&now_text)
            .bind(membership_id)
            .execute(&mut **tx)
            .await?;
            membership_id
        }
        Some((theirs,)) => {
            merge_membership(tx, membership_id, theirs, now).await?;
            theirs
        }
    };
    sqlx::query("UPDATE outbox SET participant_id = $1 WHERE participant_id = $2")
        .bind(owner)
        .bind(stand_in)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM participants WHERE id = $1")
        .bind(stand_in)
        .execute(&mut **tx)
        .await?;
    Ok(joined)
}

/// Folds membership `from` (a confirmed event sign-up) into `into` (the same person's earlier
/// membership of the trial) and deletes `from`. Its rounds, feedback, links and do-not-pair
/// entries (both ways) move across, so the engine sees one person with one history; where both
/// have a row for the same group, `into` keeps its own. The room status is the sign-up's, since
/// that is the person at the event; an earlier sign-up that was pending or had left becomes
/// active, because its address is now proved and its owner is taking part again.
async fn merge_membership(
    tx: &mut Transaction<'_, Any>,
    from: i64,
    into: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for (table, key) in [
        ("round_group_members", "group_id"),
        ("feedback", "group_id"),
        ("feedback_requests", "group_id"),
        ("still_in_requests", "trigger_group_id"),
        ("event_summaries", "trial_id"),
    ] {
        sqlx::query(&format!(
            "UPDATE {table} SET membership_id = $1 WHERE membership_id = $2 \
             AND {key} NOT IN (SELECT {key} FROM {table} WHERE membership_id = $1)"
        ))
        .bind(into)
        .bind(from)
        .execute(&mut **tx)
        .await?;
        sqlx::query(&format!("DELETE FROM {table} WHERE membership_id = $1"))
            .bind(from)
            .execute(&mut **tx)
            .await?;
    }
    for sql in [
        "INSERT INTO do_not_pair (membership_id, other_membership_id, created_at) \
         SELECT $1, other_membership_id, created_at FROM do_not_pair \
         WHERE membership_id = $2 AND other_membership_id <> $1 ON CONFLICT DO NOTHING",
        "INSERT INTO do_not_pair (membership_id, other_membership_id, created_at) \
         SELECT membership_id, $1, created_at FROM do_not_pair \
         WHERE other_membership_id = $2 AND membership_id <> $1 ON CONFLICT DO NOTHING",
        "UPDATE one_time_tokens SET membership_id = $1 WHERE membership_id = $2",
    ] {
        sqlx::query(sql)
            .bind(into)
            .bind(from)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("DELETE FROM do_not_pair WHERE membership_id = $1 OR other_membership_id = $1")
        .bind(from)
        .execute(&mut **tx)
        .await?;
    let (state, checked_in_at, left_room_at): (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT state, checked_in_at, left_room_at FROM memberships WHERE id = $1")
            .bind(from)
            .fetch_one(&mut **tx)
            .await?;
    let in_the_room = checked_in_at.is_some() || left_room_at.is_some();
    sqlx::query(
        "UPDATE memberships SET \
           state = CASE WHEN $1 = 'active' AND state IN ('pending', 'left') THEN 'active' \
             ELSE state END, \
           left_at = CASE WHEN $1 = 'active' AND state IN ('pending', 'left') THEN NULL \
             ELSE left_at END, \
           checked_in_at = CASE WHEN $2 = 1 THEN $3 ELSE checked_in_at END, \
           left_room_at = CASE WHEN $2 = 1 THEN $4 ELSE left_room_at END, \
           confirmed_at = COALESCE(confirmed_at, $5), updated_at = $5 \
         WHERE id = $6",
    )
    .bind(&state)
    .bind(i64::from(in_the_room))
    .bind(checked_in_at)
    .bind(left_room_at)
    .bind(to_db(now))
    .bind(into)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM memberships WHERE id = $1")
        .bind(from)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Ties quick round `round_id` to the form press `request_key`, in the caller's transaction.
/// False when that press has started a round already: the caller rolls back and shows that one.
pub async fn record_round_request(
    tx: &mut Transaction<'_, Any>,
    trial_id: i64,
    request_key: &str,
    round_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO round_requests (trial_id, request_key, round_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(trial_id)
    .bind(request_key)
    .bind(round_id)
    .bind(to_db(now))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

impl Store {
    /// The quick round the form press `request_key` started, if it did.
    pub async fn round_for_request(
        &self,
        trial_id: i64,
        request_key: &str,
    ) -> Result<Option<Round>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ROUND_COLUMNS} FROM rounds WHERE id = \
             (SELECT round_id FROM round_requests WHERE trial_id = $1 AND request_key = $2)"
        ))
        .bind(trial_id)
        .bind(request_key)
        .fetch_optional(self.pool())
        .await?)
    }
}

/// Records quick round `number`, published at once with its groups, in the caller's
/// transaction. Returns None when that number is taken: another round was recorded after the
/// groups were worked out, so they may repeat its pairs and the caller must work them out again.
pub async fn insert_quick_round(
    tx: &mut Transaction<'_, Any>,
    trial_id: i64,
    number: i64,
    seed: u64,
    groups: &[NewGroup],
    now: DateTime<Utc>,
) -> Result<Option<Round>, StoreError> {
    let sql = format!(
        "INSERT INTO rounds (trial_id, number, kind, state, seed, created_at, published_at) \
         VALUES ($1, $2, 'quick', 'published', $3, $4, $4) \
         ON CONFLICT DO NOTHING RETURNING {ROUND_COLUMNS}"
    );
    let round: Option<Round> = sqlx::query_as(&sql)
        .bind(trial_id)
        .bind(number)
        .bind(seed.to_string())
        .bind(to_db(now))
        .fetch_optional(&mut **tx)
        .await?;
    let Some(round) = round else {
        return Ok(None);
    };
    insert_groups(tx, round.id, groups).await?;
    // A quick round is published as it is recorded, so it tells the trial's webhooks as a
    // published programme round does.
    super::webhooks::queue_event(
        tx,
        super::webhooks::Fact::RoundPublished { round_id: round.id },
        now,
    )
    .await?;
    Ok(Some(round))
}

/// One person someone met in a quick round: a line of the summary after an event.
#[derive(Clone, Debug, FromRow)]
pub struct MetRow {
    pub membership_id: i64,
    pub participant_id: i64,
    pub name: String,
    pub email: String,
    pub round_number: i64,
    pub group_id: i64,
    pub table_label: Option<String>,
    pub partner_name: String,
    pub partner_attribute_value: String,
    pub partner_role: String,
    pub partner_email: Option<String>,
}

/// Everyone each summary recipient met in the event's quick rounds, by recipient, round and
/// partner name. Recipients have a confirmed address and have not left or been erased (leaving
/// also stops emails); erased partners are not listed. A partner's address is given only once
/// they have confirmed it: one typed on a phone and never confirmed may be someone else's.
pub async fn event_meetings(store: &Store, trial_id: i64) -> Result<Vec<MetRow>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT m.id AS membership_id, m.participant_id, p.name, p.email, \
           r.number AS round_number, g.id AS group_id, g.table_label, \
           op.name AS partner_name, om.attribute_value AS partner_attribute_value, \
           om.role AS partner_role, \
           CASE WHEN om.confirmed_at IS NOT NULL THEN op.email END AS partner_email \
         FROM rounds r JOIN round_groups g ON g.round_id = r.id \
         JOIN round_group_members gm ON gm.group_id = g.id \
         JOIN memberships m ON m.id = gm.membership_id \
         JOIN participants p ON p.id = m.participant_id \
         JOIN round_group_members ogm ON ogm.group_id = g.id AND ogm.membership_id <> m.id \
         JOIN memberships om ON om.id = ogm.membership_id \
         JOIN participants op ON op.id = om.participant_id \
         WHERE r.trial_id = $1 AND r.kind = 'quick' AND r.state = 'published' \
           AND m.confirmed_at IS NOT NULL AND m.state IN ('pending', 'active', 'paused') \
           AND p.email IS NOT NULL AND om.state <> 'erased' \
         ORDER BY m.id, r.number, g.id, op.name, om.id",
    )
    .bind(trial_id)
    .fetch_all(store.pool())
    .await?)
}

/// Records that a person's summary is being sent; false when it went before (the email is
/// then not written again).
pub async fn record_summary(
    tx: &mut Transaction<'_, Any>,
    trial_id: i64,
    membership_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO event_summaries (trial_id, membership_id, sent_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING RETURNING membership_id",
    )
    .bind(trial_id)
    .bind(membership_id)
    .bind(to_db(now))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.is_some())
}
