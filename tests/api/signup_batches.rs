//! Sign-ups written together in one batch (one statement on PostgreSQL, a few on SQLite) come
//! out exactly as the same sign-ups written one after another: the same people and names, the
//! same memberships, links and emails (in any order), and every link in an email opens its
//! own membership.
use chrono::Utc;
use coffee_trials::app::participants::{prepare_sign_up, PreparedSignUp};
use coffee_trials::app::signups::{record_in, record_together};
use coffee_trials::domain::{MembershipState, ParticipantDetails, ParticipantInput};
use coffee_trials::store::trials::Trial;
use coffee_trials::store::Store;
use coffee_trials::tokens::hash_token;

use crate::builders::{PersonBuilder, TrialBuilder};
use crate::helpers::TestStore;

/// Two trials, and people already known before the batch: in the other trial only (under the
/// name they will type, and under another), and in the trial as active, left and pending.
async fn known_people(store: &Store) -> (Trial, Trial) {
    let ward = TrialBuilder::new("ward-7").create(store).await;
    let other = TrialBuilder::new("estates").create(store).await;
    PersonBuilder::new("Known Person", "renamed@example.org")
        .add_to(store, &other)
        .await;
    PersonBuilder::new("Same Name", "same@example.org")
        .add_to(store, &other)
        .await;
    for (name, email, state) in [
        ("Active One", "active@example.org", MembershipState::Active),
        ("Left One", "left@example.org", MembershipState::Left),
        (
            "Pending One",
            "pending@example.org",
            MembershipState::Pending,
        ),
    ] {
        PersonBuilder::new(name, email)
            .state(state)
            .add_to(store, &ward)
            .await;
    }
    (ward, other)
}

/// The batch: (trial, name, email, site), in order.
fn batch(ward: &Trial, other: &Trial) -> Vec<(Trial, &'static str, &'static str, &'static str)> {
    vec![
        (ward.clone(), "New Person", "new@example.org", "North"),
        (ward.clone(), "Twin One", "twin@example.org", "North"),
        // The same address again: finds the pending membership the first one made.
        (ward.clone(), "Twin One", "twin@example.org", "South"),
        // And under another name: the email greets them by the name stored first.
        (ward.clone(), "Twin Two", "twin@example.org", ""),
        // A person known from the other trial, typing another name.
        (ward.clone(), "Known P.", "renamed@example.org", ""),
        (ward.clone(), "Same Name", "same@example.org", ""),
        (ward.clone(), "Active Again", "active@example.org", ""),
        (ward.clone(), "Left One", "left@example.org", ""),
        (ward.clone(), "Pending One", "pending@example.org", ""),
        // The new person of the first row, in the other trial too.
        (other.clone(), "New Person", "new@example.org", ""),
    ]
}

fn prepared(rows: &[(Trial, &str, &str, &str)]) -> Vec<PreparedSignUp> {
    let base = url::Url::parse("http://127.0.0.1/").unwrap();
    let now = Utc::now();
    rows.iter()
        .map(|(trial, name, email, site)| {
            let input = ParticipantInput {
                name: name.to_string(),
                email: email.to_string(),
                site: site.to_string(),
                ..Default::default()
            };
            let details = ParticipantDetails::parse(&input, &trial.attribute_value_list())
                .expect("valid details");
            prepare_sign_up(&base, trial, &details, now).expect("prepared")
        })
        .collect()
}

/// Everything the sign-ups wrote, without what differs by chance (ids, tokens, times).
#[derive(Debug, PartialEq, Eq)]
struct Written {
    people: Vec<(String, String)>,
    memberships: Vec<(String, String, String, String)>,
    links: Vec<(String, String, String)>,
    emails: Vec<(String, String, String, String)>,
}

async fn written(store: &Store) -> Written {
    let pool = store.pool();
    let people = sqlx::query_as("SELECT email, name FROM participants ORDER BY email")
        .fetch_all(pool)
        .await
        .unwrap();
    let memberships = sqlx::query_as(
        "SELECT p.email, t.slug, m.state, m.site FROM memberships m \
         JOIN participants p ON p.id = m.participant_id JOIN trials t ON t.id = m.trial_id \
         ORDER BY p.email, t.slug",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let links = sqlx::query_as(
        "SELECT p.email, t.slug, k.purpose FROM one_time_tokens k \
         JOIN memberships m ON m.id = k.membership_id \
         JOIN participants p ON p.id = m.participant_id JOIN trials t ON t.id = m.trial_id \
         ORDER BY p.email, t.slug, k.purpose",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let rows: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT o.to_address, o.template, o.subject, o.body_text, p.email FROM outbox o \
         LEFT JOIN participants p ON p.id = o.participant_id ORDER BY o.id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut emails = Vec::new();
    for (to, template, subject, body, person) in rows {
        assert_eq!(person.as_deref(), Some(to.as_str()), "the email's person");
        for (path, purpose) in [("/c/", "confirm"), ("/m/", "manage")] {
            for link in body.split(path).skip(1) {
                let token: String = link
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                let owner: Option<(String,)> = sqlx::query_as(
                    "SELECT p.email FROM one_time_tokens k \
                     JOIN memberships m ON m.id = k.membership_id \
                     JOIN participants p ON p.id = m.participant_id \
                     WHERE k.token_hash = $1 AND k.purpose = $2",
                )
                .bind(hash_token(&token))
                .bind(purpose)
                .fetch_optional(pool)
                .await
                .unwrap();
                assert_eq!(
                    owner,
                    Some((to.clone(),)),
                    "{purpose} link of an email to {to}"
                );
            }
        }
        // The links differ by chance: the text around them must not.
        let text: Vec<&str> = body
            .split_whitespace()
            .filter(|w| !w.contains("http"))
            .collect();
        emails.push((to, template, subject, text.join(" ")));
    }
    // Queued at the same moment, a batch's emails go out in any order: PostgreSQL's one
    // statement queues the usual ones before those written for what a sign-up found.
    emails.sort();
    Written {
        people,
        memberships,
        links,
        emails,
    }
}

#[tokio::test]
async fn a_batch_writes_what_the_same_sign_ups_one_after_another_write() {
    let together = TestStore::new().await;
    let (ward, other) = known_people(&together).await;
    let rows = batch(&ward, &other);
    record_together(&together, &prepared(&rows))
        .await
        .expect("the batch is written");

    let one_by_one = TestStore::new().await;
    let (ward, other) = known_people(&one_by_one).await;
    let rows = batch(&ward, &other);
    for sign_up in prepared(&rows) {
        record_together(&one_by_one, std::slice::from_ref(&sign_up))
            .await
            .expect("a sign-up is written");
    }

    let (together, one_by_one) = (written(&together).await, written(&one_by_one).await);
    assert_eq!(together, one_by_one);
    // And what that is, in the cases that matter.
    let email_to = |address: &str| -> Vec<&(String, String, String, String)> {
        together.emails.iter().filter(|e| e.0 == address).collect()
    };
    assert_eq!(together.emails.len(), rows.len(), "one email per sign-up");
    let twin = email_to("twin@example.org");
    assert_eq!(twin.len(), 3);
    assert!(twin
        .iter()
        .all(|e| e.3.contains("Twin One") && !e.3.contains("Twin Two")));
    assert!(together
        .people
        .contains(&("renamed@example.org".into(), "Known Person".into())));
    assert!(email_to("renamed@example.org")[0]
        .3
        .contains("Known Person"));
    assert_eq!(email_to("active@example.org")[0].1, "participant_already");
    assert_eq!(email_to("left@example.org")[0].1, "participant_confirm");
    assert!(together.memberships.contains(&(
        "twin@example.org".into(),
        "ward-7".into(),
        "pending".into(),
        "North".into()
    )));
    assert!(together.memberships.contains(&(
        "new@example.org".into(),
        "estates".into(),
        "pending".into(),
        String::new()
    )));
    let confirm_links = |address: &str| {
        together
            .links
            .iter()
            .filter(|l| l.0 == address && l.2 == "confirm")
            .count()
    };
    assert_eq!(confirm_links("twin@example.org"), 3);
    assert_eq!(confirm_links("active@example.org"), 0);
}

/// A batch's statements read their rows from JSON, so their text is the same whatever the
/// batch's size and a connection keeps a handful of them prepared. Written with a row per
/// value, each size was a statement of its own, all kept by the writer after a crowd of
/// sign-ups. Everyone here is known under another name, so on PostgreSQL too the links and
/// emails take the statements shared with SQLite. Counted on PostgreSQL, which lists a
/// session's prepared statements; SQLite has no such list, and there the batches are checked
/// for what they wrote.
#[tokio::test]
async fn batches_of_every_size_share_their_prepared_statements() {
    let store = TestStore::new().await;
    let ward = TrialBuilder::new("ward-7").create(&store).await;
    let other = TrialBuilder::new("estates").create(&store).await;
    let mut rows: Vec<(Trial, String, String)> = Vec::new();
    for n in 0..(1..=12).sum::<usize>() {
        let email = format!("p{n}@example.org");
        PersonBuilder::new(&format!("Known {n}"), &email)
            .add_to(&store, &other)
            .await;
        rows.push((ward.clone(), format!("Typed {n}"), email));
    }
    // A session per connection: on PostgreSQL every batch goes through the same one.
    let mut writer = store.writer().acquire().await.unwrap();
    let mut start = 0;
    for size in 1..=12 {
        let batch: Vec<(Trial, &str, &str, &str)> = rows[start..start + size]
            .iter()
            .map(|(t, name, email)| (t.clone(), name.as_str(), email.as_str(), ""))
            .collect();
        start += size;
        let mut tx = sqlx::Connection::begin(&mut *writer).await.unwrap();
        record_in(&mut tx, store.backend(), &prepared(&batch))
            .await
            .expect("the batch is written");
        tx.commit().await.unwrap();
    }
    let emails: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox o JOIN memberships m ON m.participant_id = o.participant_id \
         WHERE m.trial_id = $1 AND o.body_text LIKE '%Known%'",
    )
    .bind(ward.id)
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(
        emails,
        rows.len() as i64,
        "each email greets the name stored first"
    );
    if store.backend() == &coffee_trials::store::Backend::Postgres {
        let prepared: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_prepared_statements \
             WHERE statement LIKE 'INSERT INTO one_time_tokens%' \
                OR statement LIKE 'INSERT INTO outbox%'",
        )
        .fetch_one(&mut *writer)
        .await
        .unwrap();
        assert_eq!(prepared, 2, "prepared after batches of 12 sizes");
    }
}
