//! Delivery under faults (issue 16): a slow mail server, one that answers late, a database
//! that goes away, and what the operator sees and can do about it. Real SMTP (the sink), real
//! databases; every wait polls with a deadline.
use std::collections::HashMap;
use std::future::Future;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use coffee_trials::config::DatabaseUrl;
use coffee_trials::mail::transport::{SmtpTimeouts, Transport};
use coffee_trials::mail::worker::{deliver_one, Outcome, Worker, WorkerConfig};
use coffee_trials::store::outbox::{enqueue, NewEmail};
use coffee_trials::store::Store;

use crate::db_proxy::{upstream_of, DbProxy};
use crate::helpers::{on_postgres, spawn_app_without_loops, TestDatabase, TestStore};
use crate::smtp_sink::SmtpSink;

fn email(n: usize) -> NewEmail {
    NewEmail {
        template: "test",
        to_address: format!("person{n}@example.org"),
        participant_id: None,
        round_id: None,
        subject: format!("Message {n}"),
        body_text: format!("Hello {n}\n"),
        body_html: String::new(),
        headers_json: "{}".into(),
        attachments_json: "[]".into(),
    }
}

async fn enqueue_all(store: &Store, emails: &[NewEmail]) -> Vec<String> {
    let mut tx = store.pool().begin().await.unwrap();
    let mut ids = Vec::new();
    for e in emails {
        ids.push(
            enqueue(&mut tx, e, "test.example", Utc::now())
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    ids
}

fn config(lease: Duration) -> WorkerConfig {
    WorkerConfig {
        senders: 1,
        lease,
        idle_poll: Duration::from_millis(20),
        max_attempts: 5,
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        ..WorkerConfig::new("coffee-trials <ct@test.example>".parse().unwrap())
    }
}

fn smtp(sink: &SmtpSink) -> Transport {
    Transport::smtp(&url::Url::parse(&sink.url()).unwrap(), 2).unwrap()
}

async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every Message-ID the sink received more than once.
fn duplicates(sink: &SmtpSink) -> Vec<(String, usize)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in sink.received() {
        *seen.entry(m.message_id.unwrap()).or_default() += 1;
    }
    seen.into_iter().filter(|(_, n)| *n > 1).collect()
}

#[tokio::test]
async fn a_slow_mail_server_gets_each_message_once_from_two_workers() {
    let db = TestStore::new().await;
    let sink = SmtpSink::start().await;
    // Each message takes longer than the lease itself; a batch of them takes many leases.
    sink.set_delay(Duration::from_millis(1200));
    let ids = enqueue_all(&db, &(0..8).map(email).collect::<Vec<_>>()).await;
    let lease = Duration::from_secs(1);
    let first = Worker::start(db.store.clone(), smtp(&sink), config(lease));
    let second = Worker::start(db.store.clone(), smtp(&sink), config(lease));
    wait_for("every message", Duration::from_secs(60), || async {
        db.outbox_progress().await.unwrap().sent == 8
    })
    .await;
    first.stop().await;
    second.stop().await;
    assert_eq!(sink.count(), ids.len(), "{:?}", duplicates(&sink));
    assert!(duplicates(&sink).is_empty());
}

#[tokio::test]
async fn a_late_final_reply_is_an_unknown_outcome_and_is_not_sent_again_at_once() {
    let db = TestStore::new().await;
    let sink = SmtpSink::start().await;
    let ids = enqueue_all(&db, &[email(1), email(2)]).await;
    let transport = Transport::smtp_with_timeouts(
        &url::Url::parse(&sink.url()).unwrap(),
        1,
        SmtpTimeouts {
            command: Duration::from_secs(10),
            final_reply: Duration::from_secs(1),
        },
    )
    .unwrap();
    let config = WorkerConfig {
        unknown_wait: Duration::from_secs(3600),
        ..config(Duration::from_secs(60))
    };
    let now = Utc::now();
    let claimed = db
        .claim_due_emails(now, now + chrono::Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(
        deliver_one(&db, &transport, &config, &claimed[0]).await,
        Outcome::Sent
    );
    // The second goes over the same, reused, connection; the server keeps it but answers
    // only after the client stopped waiting.
    sink.set_reply_delay(Duration::from_secs(3));
    assert_eq!(
        deliver_one(&db, &transport, &config, &claimed[1]).await,
        Outcome::Unknown
    );
    assert_eq!(
        sink.copies_of(&ids[1]),
        1,
        "not sent again on a fresh connection"
    );
    let (state, error, next): (String, Option<String>, String) = sqlx::query_as(
        "SELECT state, last_error, next_attempt_at FROM outbox WHERE message_id = $1",
    )
    .bind(&ids[1])
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(state, "queued");
    assert!(error.unwrap().starts_with("Outcome unknown"));
    let next = coffee_trials::store::time::from_db(&next).unwrap();
    assert!(next > Utc::now() + chrono::Duration::minutes(50), "{next}");
    // Nothing is due: no sender picks it up again now.
    let now = Utc::now();
    assert!(db
        .claim_due_emails(now, now + chrono::Duration::seconds(60), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(sink.copies_of(&ids[1]), 1);
}

#[tokio::test]
async fn a_database_outage_stops_sending_and_duplicates_nothing() {
    if !on_postgres() {
        // The cut is a TCP proxy in front of the PostgreSQL server.
        return;
    }
    let db = TestDatabase::create().await;
    let direct = crate::helpers::migrated_store(&db).await;
    let proxy = DbProxy::start(upstream_of(&db.url())).await;
    let through = Store::connect(&DatabaseUrl::parse(&proxy.url_through(&db.url())).unwrap())
        .await
        .unwrap();
    let sink = SmtpSink::start().await;
    sink.set_delay(Duration::from_millis(300));
    enqueue_all(&direct, &(0..6).map(email).collect::<Vec<_>>()).await;
    let worker = Worker::start(through.clone(), smtp(&sink), config(Duration::from_secs(1)));
    wait_for("the first message", Duration::from_secs(20), || async {
        direct.outbox_progress().await.unwrap().sent >= 1
    })
    .await;
    // Longer than the lease: without a stop, what was claimed would be sent again after.
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    proxy.restore();
    wait_for("every message", Duration::from_secs(60), || async {
        direct.outbox_progress().await.unwrap().sent == 6
    })
    .await;
    worker.stop().await;
    assert!(duplicates(&sink).is_empty(), "{:?}", duplicates(&sink));
    assert_eq!(sink.count(), 6);
}

const BIN: &str = env!("CARGO_BIN_EXE_coffee-trials");

#[tokio::test]
async fn an_outage_logs_one_warning_and_retry_now_sends_everything_waiting() {
    let db = TestStore::new().await;
    let dir = tempfile::tempdir().unwrap();
    // A port with nobody listening yet.
    let port = {
        let sink = SmtpSink::start().await;
        let port = sink.port;
        sink.stop();
        port
    };
    let ids = enqueue_all(&db, &(0..20).map(email).collect::<Vec<_>>()).await;
    let log = std::fs::File::create(dir.path().join("service.log")).unwrap();
    let mut service = Command::new(BIN)
        .current_dir(dir.path())
        .env("DATABASE_URL", db._db.url())
        .env("SMTP_URL", format!("smtp://127.0.0.1:{port}"))
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env_remove("MAIL_FROM")
        .env_remove("LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_for(
        "every message to fail once",
        Duration::from_secs(30),
        || async {
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM outbox WHERE attempts >= 1 AND state = 'queued'",
            )
            .fetch_one(db.pool())
            .await
            .unwrap();
            n == 20
        },
    )
    .await;
    let failing = db
        .delivery_failing()
        .await
        .unwrap()
        .expect("recorded as failing");
    assert!(failing.last_error.is_some());

    // The server is back; the messages would wait out their back-off (a minute or more).
    let sink = SmtpSink::start_on(port).await;
    let out = Command::new(BIN)
        .args(["outbox", "retry"])
        .env("DATABASE_URL", db._db.url())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("20 waiting emails are due now"));
    wait_for("every message", Duration::from_secs(30), || async {
        db.outbox_progress().await.unwrap().sent == 20
    })
    .await;
    wait_for(
        "the recovery to be recorded",
        Duration::from_secs(10),
        || async { db.delivery_failing().await.unwrap().is_none() },
    )
    .await;
    let _ = service.kill();
    service.wait().unwrap();
    assert_eq!(sink.count(), ids.len());
    let log = std::fs::read_to_string(dir.path().join("service.log")).unwrap();
    let warnings = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("delivery is failing"))
        .count();
    assert_eq!(
        warnings, 1,
        "one WARN for the outage, not one per message:\n{log}"
    );
    let recovered = log
        .lines()
        .filter(|l| l.contains("INFO") && l.contains("delivery works again"))
        .count();
    assert_eq!(recovered, 1, "{log}");
    assert!(
        !log.contains("person1@example.org"),
        "no address in the log"
    );
}

#[tokio::test]
async fn the_outbox_page_shows_waiting_messages_and_retry_now_makes_them_due() {
    let app = spawn_app_without_loops().await;
    app.sign_up_first_organiser().await;
    let ids = enqueue_all(&app.store, &[email(7)]).await;
    let now = Utc::now();
    let claimed = app
        .store
        .claim_due_emails(now, now + chrono::Duration::seconds(60), 10)
        .await
        .unwrap();
    let later = now + chrono::Duration::hours(1);
    assert!(app
        .store
        .schedule_email_retry(
            &claimed[0],
            "cannot connect to the mail server: refused",
            later
        )
        .await
        .unwrap());
    let since = now - chrono::Duration::minutes(3);
    app.store
        .set_delivery_failing(Some((&since, "cannot connect to the mail server")), now)
        .await
        .unwrap();

    let html = app.get_html("/admin/outbox").await;
    for expected in [
        "id=\"delivery-failing\"",
        "Delivery failing since",
        "person7@example.org",
        "cannot connect to the mail server: refused",
        &coffee_trials::web::dates::when(&later, chrono_tz::UTC),
        "id=\"retry-now\"",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    // Not due yet: a pass of the worker sends nothing.
    assert!(app.deliver_outbox().await.is_empty());
    let response = app
        .submit("/admin/outbox", "/admin/outbox/retry-now", &[])
        .await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(app.deliver_outbox().await, [Outcome::Sent]);
    let (state,): (String,) = sqlx::query_as("SELECT state FROM outbox WHERE message_id = $1")
        .bind(&ids[0])
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(state, "sent");
    // A sent message clears the record of a failing delivery only through the worker; the
    // page keeps showing it until then, and without the button's CSRF token nothing happens.
    let forged = app
        .client
        .post(app.url("/admin/outbox/retry-now"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
}

#[tokio::test]
async fn mail_that_goes_through_clears_needs_attention() {
    let db = TestStore::new().await;
    let now = coffee_trials::store::time::to_db(Utc::now());
    let (participant_id,): (i64,) = sqlx::query_as(
        "INSERT INTO participants (public_id, email, name, needs_attention, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind("p-back")
    .bind("back@example.org")
    .bind("Back")
    .bind("Email to this address was refused")
    .bind(&now)
    .fetch_one(db.pool())
    .await
    .unwrap();
    let sink = SmtpSink::start().await;
    let mut message = email(1);
    message.to_address = "back@example.org".into();
    message.participant_id = Some(participant_id);
    enqueue_all(&db, &[message]).await;
    let at = Utc::now();
    let claimed = db
        .claim_due_emails(at, at + chrono::Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(
        deliver_one(
            &db,
            &smtp(&sink),
            &config(Duration::from_secs(60)),
            &claimed[0]
        )
        .await,
        Outcome::Sent
    );
    let (attention,): (Option<String>,) =
        sqlx::query_as("SELECT needs_attention FROM participants WHERE id = $1")
            .bind(participant_id)
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(attention, None);
}

#[tokio::test]
async fn needs_attention_shows_in_the_console_api_and_csv_until_send_again_goes_through() {
    use crate::builders::{PersonBuilder, TrialBuilder};
    let app = spawn_app_without_loops().await;
    app.sign_up_first_organiser().await;
    let trial = TrialBuilder::new("attention").create(&app.store).await;
    let refused = PersonBuilder::new("Refused Person", "refused@example.org")
        .add_to(&app.store, &trial)
        .await;
    PersonBuilder::new("Fine Person", "fine@example.org")
        .add_to(&app.store, &trial)
        .await;
    let member = app
        .store
        .find_member(trial.id, &refused.public_id)
        .await
        .unwrap()
        .unwrap();
    let mut message = email(1);
    message.to_address = "refused@example.org".into();
    message.participant_id = Some(member.participant_id);
    enqueue_all(&app.store, &[message]).await;
    let now = Utc::now();
    let claimed = app
        .store
        .claim_due_emails(now, now + chrono::Duration::seconds(60), 10)
        .await
        .unwrap();
    // What the worker records for a 550 (see delivery::a_refused_address_...).
    assert!(app
        .store
        .mark_email_failed(
            &claimed[0],
            "permanent error (550): 5.1.1 mailbox unavailable",
            Some("Email to this address was refused on 2026-11-29 10:00 UTC: 550 5.1.1."),
            now
        )
        .await
        .unwrap());

    let person = format!("/admin/trials/attention/participants/{}", refused.public_id);
    let html = app.get_html(&person).await;
    assert!(html.contains("id=\"needs-attention\""), "{html}");
    assert!(html.contains("was refused on 2026-11-29"), "{html}");
    let list = app
        .get_html("/admin/trials/attention/participants?attention=1")
        .await;
    assert!(
        list.contains("Refused Person") && !list.contains("Fine Person"),
        "{list}"
    );
    assert!(list.contains("id=\"matching\">1 matching"), "{list}");
    let csv = app
        .get_html("/admin/trials/attention/participants.csv")
        .await;
    assert!(
        csv.lines().next().unwrap().ends_with("needs_attention"),
        "{csv}"
    );
    assert!(csv.contains("was refused on 2026-11-29"), "{csv}");
    let token = app.api_token().await;
    let api: serde_json::Value = app
        .client
        .get(app.url("/api/v1/trials/attention/participants?attention=1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = api.to_string();
    assert!(
        text.contains("was refused on 2026-11-29") && !text.contains("Fine Person"),
        "{text}"
    );

    // The address is fixed at the other end; "Send again" goes through and clears the flag.
    let retried = app
        .submit(
            "/admin/outbox",
            &format!("/admin/outbox/{}/retry", claimed[0].id),
            &[],
        )
        .await;
    assert_eq!(retried.status().as_u16(), 303);
    assert_eq!(app.deliver_outbox().await, [Outcome::Sent]);
    let html = app.get_html(&person).await;
    assert!(!html.contains("id=\"needs-attention\""), "{html}");
    let list = app
        .get_html("/admin/trials/attention/participants?attention=1")
        .await;
    assert!(list.contains("id=\"matching\">0 matching"), "{list}");
}
