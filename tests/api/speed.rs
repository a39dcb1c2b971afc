//! What keeps the service fast, checked for correctness (speed itself is measured by
//! `benches/http`, never timed here): cookies only where a form needs them, API token use
//! written at most once a minute, the library served from memory yet current after an edit,
//! and retention of sent bodies, expired links and sessions.
use chrono::{Duration, Utc};
use coffee_trials::app::retention::{self, Policy};
use coffee_trials::domain::OutboxState;
use coffee_trials::library::TechniqueInput;
use coffee_trials::store::outbox::{enqueue, NewEmail};
use coffee_trials::store::signup::{insert_link_token, LinkPurpose};
use coffee_trials::tokens;

use crate::builders::{PersonBuilder, TrialBuilder};
use crate::helpers::{spawn_app_without_loops, TestStore, ORGANISER_EMAIL};

fn sets_csrf_cookie(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap_or("").starts_with("ct_csrf="))
}

#[tokio::test]
async fn the_csrf_cookie_is_set_only_by_pages_with_forms() {
    let app = spawn_app_without_loops().await;
    TrialBuilder::new("spring").create(&app.store).await;
    let client = app.anonymous_client();
    for path in [
        "/healthz",
        "/api/v1/techniques",
        "/techniques",
        "/static/app.css",
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert!(!sets_csrf_cookie(&response), "{path} sets no CSRF cookie");
    }
    let page = client.get(app.url("/t/spring")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(sets_csrf_cookie(&page), "the sign-up form gets its cookie");
    // The form posted with that cookie and its token is accepted, as before.
    let html = page.text().await.unwrap();
    let csrf = crate::helpers::csrf_from(&html);
    let posted = client
        .post(app.url("/t/spring"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Ada"),
            ("email", "ada@example.org"),
            ("consent", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_ne!(posted.status().as_u16(), 403, "the token still matches");
    // A browser that already has a token is not sent another one.
    let again = client.get(app.url("/t/spring")).send().await.unwrap();
    assert!(!sets_csrf_cookie(&again));
}

#[tokio::test]
async fn api_token_use_is_written_at_most_once_a_minute() {
    let app = spawn_app_without_loops().await;
    let token = app.organiser_token().await;
    let organiser = app
        .store
        .find_organiser_by_email(ORGANISER_EMAIL)
        .await
        .unwrap()
        .expect("the organiser");
    let last_used =
        || async { app.store.list_api_tokens(organiser.id).await.unwrap()[0].last_used_at };
    let hash = tokens::hash_token(&token);
    let t0 = Utc::now();
    let found = app.store.use_api_token(&hash, t0).await.unwrap();
    assert_eq!(found.map(|o| o.id), Some(organiser.id));
    let first = last_used().await.expect("noted on first use");
    // Within the minute: still the organiser, nothing written.
    let found = app
        .store
        .use_api_token(&hash, t0 + Duration::seconds(59))
        .await
        .unwrap();
    assert_eq!(found.map(|o| o.id), Some(organiser.id));
    assert_eq!(last_used().await.as_ref(), Some(&first));
    // A minute later it is written again.
    app.store
        .use_api_token(&hash, t0 + Duration::seconds(61))
        .await
        .unwrap();
    let later = last_used().await.expect("still noted");
    assert!(later > first, "{later} after {first}");
    // Through HTTP the token still works.
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/trials"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn the_library_served_from_memory_shows_an_edit_at_once() {
    let app = spawn_app_without_loops().await;
    let before = app.get_html("/techniques").await;
    assert!(before.contains("Peer assist"), "the seeded list");
    let page_before = app.get_html("/techniques/peer-assist").await;
    let (_, list_before) = app.get_json("/api/v1/techniques").await;
    assert!(list_before["techniques"][0].get("body_md").is_none());
    let input = TechniqueInput {
        slug: "peer-assist",
        name: "Peer assist, renamed",
        phase: "before",
        summary: "A new summary for the list.",
        duration_min_minutes: 60,
        duration_max_minutes: 120,
        people_min: 3,
        people_max: Some(12),
        body_md: "A **new** body.",
    };
    app.store
        .update_technique("peer-assist", &input)
        .await
        .expect("updated");
    let after = app.get_html("/techniques").await;
    assert!(after.contains("Peer assist, renamed") && after.contains("A new summary"));
    let page_after = app.get_html("/techniques/peer-assist").await;
    assert_ne!(page_before, page_after);
    assert!(page_after.contains("<strong>new</strong>"));
    let (_, list_after) = app.get_json("/api/v1/techniques").await;
    let names: Vec<&str> = list_after["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Peer assist, renamed"));
    let missing = app.get("/techniques/no-such-technique").await;
    assert_eq!(missing.status().as_u16(), 404);
}

/// An edit written by another instance (straight into the database, so this process's own
/// count of edits does not move) is seen once the kept pages are due for a check, 5 s later.
#[tokio::test]
async fn the_library_in_memory_shows_another_instances_edit_after_its_check() {
    let app = spawn_app_without_loops().await;
    assert!(app.get_html("/techniques").await.contains("Peer assist"));
    let later = coffee_trials::store::time::to_db(Utc::now() + Duration::minutes(1));
    sqlx::query("UPDATE techniques SET name = 'Peer assist, elsewhere', updated_at = $1 WHERE slug = 'peer-assist'")
        .bind(&later)
        .execute(app.store.pool())
        .await
        .unwrap();
    let kept = app.get_html("/techniques").await;
    assert!(
        !kept.contains("Peer assist, elsewhere"),
        "served from memory until the check"
    );
    tokio::time::sleep(std::time::Duration::from_millis(5_300)).await;
    let checked = app.get_html("/techniques").await;
    assert!(checked.contains("Peer assist, elsewhere"));
}

async fn json_sign_up(
    app: &crate::helpers::TestApp,
    slug: &str,
    email: &str,
) -> (u16, serde_json::Value) {
    let response = app
        .client
        .post(app.url("/api/v1/public/signups"))
        .json(&serde_json::json!({
            "trial": slug,
            "name": "Grace Hopper",
            "email": email,
            "meeting_modes": ["video"],
            "consent": true,
        }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Sign-ups read the trial they name at most once a second: a trial made a moment ago takes
/// sign-ups at once (a slug that named nothing is not remembered), an edit saved through this
/// process is seen at once, and one saved by another instance (straight into the database)
/// once that second has passed.
#[tokio::test]
async fn sign_ups_see_a_new_trial_and_an_edit_at_once_and_another_instances_within_a_second() {
    let app = spawn_app_without_loops().await;
    let (status, body) = json_sign_up(&app, "ward-9", "early@example.org").await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("trial")),
        "{body}"
    );

    let open = |t: &mut coffee_trials::domain::TrialInput| t.open_for_signup = true;
    TrialBuilder::new("ward-9")
        .with(open)
        .create(&app.store)
        .await;
    let (status, body) = json_sign_up(&app, "ward-9", "first@example.org").await;
    assert_eq!(status, 202, "{body}");

    TrialBuilder::new("ward-9")
        .with(|t| t.open_for_signup = false)
        .update(&app.store)
        .await;
    let (status, body) = json_sign_up(&app, "ward-9", "closed@example.org").await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("trial")),
        "{body}"
    );

    sqlx::query("UPDATE trials SET open_for_signup = 1 WHERE slug = 'ward-9'")
        .execute(app.store.pool())
        .await
        .unwrap();
    tokio::time::sleep(
        coffee_trials::app::signups::TRIAL_FRESH + std::time::Duration::from_millis(200),
    )
    .await;
    let form = app
        .submit(
            "/t/ward-9",
            "/t/ward-9",
            &[
                ("name", "Grace Hopper"),
                ("email", "reopened@example.org"),
                ("meeting_modes", "video"),
                ("consent", "on"),
            ],
        )
        .await;
    assert_eq!(form.status().as_u16(), 303);
    let mut stored: Vec<String> = app
        .store
        .list_outbox(100)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.to_address)
        .collect();
    stored.sort_unstable();
    assert_eq!(stored, ["first@example.org", "reopened@example.org"]);
}

fn email(n: usize) -> NewEmail {
    NewEmail {
        template: "test",
        to_address: format!("person{n}@example.org"),
        participant_id: None,
        round_id: None,
        subject: format!("Message {n}"),
        body_text: format!("The body of message {n}"),
        body_html: format!("<p>The body of message {n}</p>"),
        headers_json: "{}".into(),
        attachments_json: "[]".into(),
    }
}

#[tokio::test]
async fn retention_empties_old_sent_bodies_and_deletes_expired_links_and_sessions() {
    let store = TestStore::new().await;
    let now = Utc::now();
    // 1,200 emails (more than one batch): 1,000 sent 40 days ago, 200 sent yesterday, and
    // 5 still waiting.
    let old = 1_000;
    let recent = 200;
    let mut tx = store.pool().begin().await.unwrap();
    for n in 0..old + recent {
        enqueue(&mut tx, &email(n), "example.org", now - Duration::days(41))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let claimed = store
        .claim_due_emails(now, now + Duration::minutes(5), 10_000)
        .await
        .unwrap();
    assert_eq!(claimed.len(), old + recent);
    for (i, e) in claimed.iter().enumerate() {
        let sent_at = if i < old {
            now - Duration::days(40)
        } else {
            now - Duration::days(1)
        };
        assert!(store.mark_email_sent(e, sent_at).await.unwrap());
    }
    let mut tx = store.pool().begin().await.unwrap();
    for n in 0..5 {
        enqueue(&mut tx, &email(10_000 + n), "example.org", now)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let ids_before: Vec<String> = store
        .list_outbox(10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.message_id)
        .collect();

    // Links: one expired long ago, one expired yesterday (kept for a week), one still good.
    let trial = TrialBuilder::new("spring").create(&store).await;
    let person = PersonBuilder::new("Ada", "ada@example.org")
        .add_to(&store, &trial)
        .await;
    let mut tx = store.pool().begin().await.unwrap();
    for (hash, expires) in [
        ("long-gone", now - Duration::days(30)),
        ("yesterday", now - Duration::days(1)),
        ("good", now + Duration::days(1)),
    ] {
        insert_link_token(
            &mut tx,
            LinkPurpose::Manage,
            person.membership_id,
            &tokens::hash_token(hash),
            now - Duration::days(60),
            expires,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let report = retention::run(
        &store,
        Policy {
            outbox_retention_days: 30,
        },
        now,
    )
    .await
    .unwrap();
    assert_eq!(report.bodies_dropped, old as u64);
    assert_eq!(report.links_deleted, 1);
    assert_eq!(store.count_sent_with_bodies().await.unwrap(), recent as i64);

    let after = store.list_outbox(10_000).await.unwrap();
    let ids_after: Vec<String> = after.iter().map(|e| e.message_id.clone()).collect();
    assert_eq!(ids_after, ids_before, "every row and its Message-ID stays");
    let emptied = after
        .iter()
        .filter(|e| e.body_text.is_empty() && e.body_html.is_empty())
        .count();
    assert_eq!(emptied, old);
    assert!(after
        .iter()
        .filter(|e| e.state != OutboxState::Sent)
        .all(|e| !e.body_text.is_empty()));
    assert!(after.iter().all(|e| !e.subject.is_empty()));

    let usable = |hash: &'static str| {
        let store = &store;
        async move {
            store
                .member_by_link(LinkPurpose::Manage, &tokens::hash_token(hash), now)
                .await
                .unwrap()
                .is_some()
        }
    };
    assert!(usable("good").await);
    let (links,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM one_time_tokens")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(
        links, 2,
        "the link expired yesterday is kept for its grace week"
    );

    // Running again finds nothing more.
    let again = retention::run(
        &store,
        Policy {
            outbox_retention_days: 30,
        },
        now,
    )
    .await
    .unwrap();
    assert!(again.is_empty(), "{again:?}");
}

#[tokio::test]
async fn retention_deletes_expired_sessions_only() {
    let app = spawn_app_without_loops().await;
    app.sign_up_first_organiser().await;
    let organiser = app
        .store
        .find_organiser_by_email(ORGANISER_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let now = Utc::now();
    app.store
        .create_session(
            organiser.id,
            &tokens::hash_token("old-session"),
            now - Duration::days(2),
            now - Duration::days(1),
        )
        .await
        .unwrap();
    let report = retention::run(
        &app.store,
        Policy {
            outbox_retention_days: 30,
        },
        now,
    )
    .await
    .unwrap();
    assert_eq!(report.sessions_deleted, 1);
    // The organiser's own session (from signing up) still works.
    let console = app.get("/admin/tokens").await;
    assert_eq!(console.status().as_u16(), 200);
}

/// The senders' claim reads only waiting messages: after 100,000 sent ones, the query that
/// finds due messages still reads them from the index of waiting messages
/// (`outbox_waiting_idx`) in its order, never scans the table and sorts nothing, so its cost
/// does not grow with what was sent. Its speed is not timed here.
#[tokio::test]
async fn the_claim_of_due_emails_reads_only_waiting_messages_after_100_000_sent() {
    use coffee_trials::store::Backend;
    let t = TestStore::new().await;
    let store = &t.store;
    let now = Utc::now();
    let then = coffee_trials::store::time::to_db(now - Duration::days(60));
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
         INSERT INTO outbox (message_id, template, to_address, subject, body_text, body_html, \
           state, attempts, next_attempt_at, created_at, sent_at) \
         SELECT '<sent-' || i || '@example.org>', 'test', 'person@example.org', 'Sent', '', '', \
           'sent', 1, $1, $1, $1 FROM n",
    )
    .bind(&then)
    .execute(store.pool())
    .await
    .unwrap();
    let mut tx = store.pool().begin().await.unwrap();
    for n in 0..10 {
        enqueue(
            &mut tx,
            &email(n),
            "example.org",
            now - Duration::minutes(1),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE").execute(store.pool()).await.unwrap();

    // The claim's inner query, as `claim_due_emails` writes it.
    let inner = format!(
        "{} LIMIT 10",
        coffee_trials::store::outbox::due_emails(store.backend()).replace("$2", "$1")
    );
    let plan: Vec<String> = match store.backend() {
        Backend::Sqlite => {
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(&format!("EXPLAIN QUERY PLAN {inner}"))
                    .bind(coffee_trials::store::time::to_db(now))
                    .fetch_all(store.pool())
                    .await
                    .unwrap();
            rows.into_iter().map(|r| r.3).collect()
        }
        Backend::Postgres => sqlx::query_as::<_, (String,)>(&format!("EXPLAIN {inner}"))
            .bind(coffee_trials::store::time::to_db(now))
            .fetch_all(store.pool())
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.0)
            .collect(),
    };
    let scans = |line: &String| line.starts_with("SCAN outbox") || line.contains("Seq Scan");
    assert!(!plan.iter().any(scans), "{plan:#?}");
    // The index of waiting messages, read in its own order: no sort of what it found.
    assert!(
        plan.iter().any(|line| line.contains("outbox_waiting_idx")),
        "{plan:#?}"
    );
    assert!(
        !plan
            .iter()
            .any(|line| line.contains("Sort") || line.contains("TEMP B-TREE")),
        "{plan:#?}"
    );
    let claimed = store
        .claim_due_emails(now, now + Duration::minutes(5), 100)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 10);
}
