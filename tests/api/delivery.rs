//! Email delivery: the outbox worker against a real SMTP server on 127.0.0.1 (see
//! `smtp_sink`), the file transport, and the organisers' outbox page. Every wait polls with a
//! deadline.
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use coffee_trials::config::DatabaseUrl;
use coffee_trials::mail::foreground::{Foreground, GiveWay};
use coffee_trials::mail::transport::Transport;
use coffee_trials::mail::worker::{Outcome, Worker, WorkerConfig};
use coffee_trials::store::outbox::{enqueue, NewEmail, OutboxProgress};
use coffee_trials::store::Store;

use crate::helpers::{on_postgres, spawn_app_without_loops, TestDatabase};
use crate::smtp_sink::{header, SmtpSink};

async fn open_store(db: &TestDatabase) -> Store {
    let store = Store::connect(&DatabaseUrl::parse(&db.url()).unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

fn email(n: usize) -> NewEmail {
    NewEmail {
        template: "test",
        to_address: format!("person{n}@example.org"),
        participant_id: None,
        round_id: None,
        subject: format!("Your coffee partner, message {n}"),
        body_text: format!("Hello {n},\n\nYou are meeting someone for coffee.\n"),
        body_html: format!("<p>Hello {n},</p><p>You are meeting someone for coffee.</p>"),
        headers_json: "{}".into(),
        attachments_json: "[]".into(),
    }
}

/// Queues the emails in one transaction and returns their Message-IDs.
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

/// Short waits so the suite stays fast.
fn fast_config() -> WorkerConfig {
    WorkerConfig {
        lease: Duration::from_secs(5),
        idle_poll: Duration::from_millis(20),
        max_attempts: 5,
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        ..WorkerConfig::new(
            "coffee-trials <coffee-trials@test.example>"
                .parse()
                .unwrap(),
        )
    }
}

fn smtp(url: &str) -> Transport {
    Transport::smtp(&url::Url::parse(url).unwrap(), 4).unwrap()
}

/// Polls `check` until it holds, failing the test with `what` after `limit`.
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

async fn progress(store: &Store) -> OutboxProgress {
    store.outbox_progress().await.unwrap()
}

async fn state_of(store: &Store, message_id: &str) -> (String, i64, Option<String>) {
    sqlx::query_as("SELECT state, attempts, last_error FROM outbox WHERE message_id = $1")
        .bind(message_id)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn messages_go_out_over_smtp_as_text_and_html_with_their_headers() {
    let db = TestDatabase::create().await;
    let store = open_store(&db).await;
    let sink = SmtpSink::start().await;
    let mut e = email(1);
    e.headers_json = r#"{"List-Unsubscribe": "<https://coffee.example/u/abc>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}"#.into();
    let ids = enqueue_all(&store, &[e]).await;
    let worker = Worker::start(store.clone(), smtp(&sink.url()), fast_config());
    wait_for("the message", Duration::from_secs(10), || async {
        progress(&store).await.sent == 1
    })
    .await;
    worker.stop().await;
    let got = sink.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.message_id.as_deref(), Some(ids[0].as_str()));
    assert_eq!(m.to, vec!["person1@example.org".to_string()]);
    assert_eq!(m.from, "coffee-trials@test.example");
    assert!(header(&m.data, "content-type")
        .unwrap()
        .starts_with("multipart/alternative"));
    assert_eq!(
        header(&m.data, "list-unsubscribe").as_deref(),
        Some("<https://coffee.example/u/abc>")
    );
    assert_eq!(
        header(&m.data, "list-unsubscribe-post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(m.data.contains("text/plain") && m.data.contains("text/html"));
}

#[tokio::test]
async fn the_file_transport_writes_a_readable_eml() {
    let db = TestDatabase::create().await;
    let store = open_store(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let mut e = email(7);
    e.attachments_json = serde_json::json!([{
        "filename": "coffee.ics",
        "content_type": "text/calendar; method=REQUEST; charset=UTF-8",
        "content": "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    }])
    .to_string();
    let ids = enqueue_all(&store, &[e]).await;
    let worker = Worker::start(
        store.clone(),
        Transport::files(dir.path().join("outbox")),
        fast_config(),
    );
    wait_for("the .eml file", Duration::from_secs(10), || async {
        progress(&store).await.sent == 1
    })
    .await;
    worker.stop().await;
    let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "eml");
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert_eq!(header(&eml, "message-id").as_deref(), Some(ids[0].as_str()));
    assert_eq!(
        header(&eml, "subject").as_deref(),
        Some("Your coffee partner, message 7")
    );
    assert_eq!(header(&eml, "to").as_deref(), Some("person7@example.org"));
    assert!(header(&eml, "content-type")
        .unwrap()
        .starts_with("multipart/mixed"));
    assert!(eml.contains("multipart/alternative"));
    // Readable as it stands: the plain-text body is not encoded away.
    assert!(eml.contains("You are meeting someone for coffee."), "{eml}");
    assert!(eml.contains("filename=\"coffee.ics\""), "{eml}");
    assert!(eml.contains("BEGIN:VCALENDAR"), "{eml}");
}

#[tokio::test]
async fn messages_wait_while_the_mail_server_is_away_and_go_out_when_it_is_back() {
    let db = TestDatabase::create().await;
    let store = open_store(&db).await;
    let sink = SmtpSink::start().await;
    let port = sink.port;
    sink.stop();
    drop(sink);
    let ids = enqueue_all(&store, &(0..20).map(email).collect::<Vec<_>>()).await;
    let config = WorkerConfig {
        max_attempts: 1000,
        ..fast_config()
    };
    let worker = Worker::start(
        store.clone(),
        smtp(&format!("smtp://127.0.0.1:{port}")),
        config,
    );
    wait_for("a few failed attempts", Duration::from_secs(10), || async {
        let (state, attempts, _) = state_of(&store, &ids[19]).await;
        attempts >= 3 && state != "failed"
    })
    .await;
    let p = progress(&store).await;
    assert_eq!((p.sent, p.failed), (0, 0), "{p:?}");
    let (_, _, error) = state_of(&store, &ids[0]).await;
    assert!(error.is_some(), "the error of the last attempt is kept");

    let sink = SmtpSink::start_on(port).await;
    wait_for("every message", Duration::from_secs(20), || async {
        progress(&store).await.sent == 20
    })
    .await;
    worker.stop().await;
    let received: HashSet<String> = sink
        .received()
        .into_iter()
        .filter_map(|m| m.message_id)
        .collect();
    assert_eq!(received, ids.into_iter().collect::<HashSet<_>>());
}

#[tokio::test]
async fn a_refused_address_fails_at_once_and_the_participant_needs_attention() {
    let db = TestDatabase::create().await;
    let store = open_store(&db).await;
    let now = coffee_trials::store::time::to_db(Utc::now());
    let (participant_id,): (i64,) = sqlx::query_as(
        "INSERT INTO participants (public_id, email, name, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind("p-gone")
    .bind("gone@example.org")
    .bind("Gone")
    .bind(&now)
    .fetch_one(store.pool())
    .await
    .unwrap();
    let sink = SmtpSink::start().await;
    sink.refuse("gone@example.org");
    let mut refused = email(1);
    refused.to_address = "gone@example.org".into();
    refused.participant_id = Some(participant_id);
    let ids = enqueue_all(&store, &[refused, email(2)]).await;
    let worker = Worker::start(store.clone(), smtp(&sink.url()), fast_config());
    wait_for("both outcomes", Duration::from_secs(10), || async {
        let p = progress(&store).await;
        p.sent == 1 && p.failed == 1
    })
    .await;
    // Failed is final: give a retrying worker the time to come back, then look again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.stop().await;
    let (state, attempts, error) = state_of(&store, &ids[0]).await;
    assert_eq!((state.as_str(), attempts), ("failed", 1));
    assert!(error.unwrap().contains("550"));
    let (attention,): (Option<String>,) =
        sqlx::query_as("SELECT needs_attention FROM participants WHERE id = $1")
            .bind(participant_id)
            .fetch_one(store.pool())
            .await
            .unwrap();
    let attention = attention.expect("the participant is flagged");
    assert!(
        attention.contains("refused") && attention.contains("550"),
        "{attention}"
    );
    assert_eq!(sink.count(), 1);
}

#[tokio::test]
async fn two_workers_on_one_postgres_database_never_send_a_message_twice() {
    if !on_postgres() {
        // SKIP LOCKED is PostgreSQL's; SQLite serialises writers, so one process per file.
        return;
    }
    let db = TestDatabase::create().await;
    let (a, b) = (open_store(&db).await, open_store(&db).await);
    let sink = SmtpSink::start().await;
    let ids = enqueue_all(&a, &(0..400).map(email).collect::<Vec<_>>()).await;
    let config = WorkerConfig {
        batch_size: 3,
        ..fast_config()
    };
    let first = Worker::start(a.clone(), smtp(&sink.url()), config.clone());
    let second = Worker::start(b.clone(), smtp(&sink.url()), config);
    wait_for("every message", Duration::from_secs(30), || async {
        progress(&a).await.sent == 400
    })
    .await;
    first.stop().await;
    second.stop().await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in sink.received() {
        *seen.entry(m.message_id.unwrap()).or_default() += 1;
    }
    assert_eq!(seen.len(), ids.len());
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
}

/// The real binary, delivering through the sink.
fn start_service(db: &TestDatabase, sink: &SmtpSink, dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_coffee-trials"))
        .current_dir(dir)
        .env("DATABASE_URL", db.url())
        .env("SMTP_URL", sink.url())
        .env("BIND", "127.0.0.1:0")
        .env("OUTBOX_LEASE_SECONDS", "3")
        .env("RUST_LOG", "warn")
        .env_remove("MAIL_FROM")
        .env_remove("OUTBOX_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the service starts")
}

#[tokio::test]
async fn a_sigkill_in_the_middle_of_a_round_loses_no_message() {
    let db = TestDatabase::create().await;
    let store = open_store(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start().await;
    // Stretch the round out so that the kill lands in the middle of it.
    sink.set_delay(Duration::from_millis(2));
    let ids = enqueue_all(&store, &(0..1000).map(email).collect::<Vec<_>>()).await;

    let mut service = start_service(&db, &sink, dir.path());
    wait_for(
        "the first 200 messages",
        Duration::from_secs(30),
        || async { sink.count() >= 200 },
    )
    .await;
    let status = Command::new("kill")
        .args(["-KILL", &service.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    service.wait().unwrap();
    let at_kill = sink.count();
    assert!(at_kill < 1000, "the kill came after the whole round");
    // Whatever was on the wire at the moment of the kill is still `sending`.
    let in_flight: HashSet<String> =
        sqlx::query_as::<_, (String,)>("SELECT message_id FROM outbox WHERE state = 'sending'")
            .fetch_all(store.pool())
            .await
            .unwrap()
            .into_iter()
            .map(|(id,)| id)
            .collect();

    let mut service = start_service(&db, &sink, dir.path());
    wait_for("the rest of the round", Duration::from_secs(60), || async {
        progress(&store).await.sent == 1000
    })
    .await;
    service.kill().unwrap();
    service.wait().unwrap();

    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in sink.received() {
        *seen.entry(m.message_id.expect("a Message-ID")).or_default() += 1;
    }
    let expected: HashSet<String> = ids.into_iter().collect();
    assert_eq!(
        seen.keys().cloned().collect::<HashSet<_>>(),
        expected,
        "every message arrives"
    );
    for (id, n) in &seen {
        assert!(
            *n == 1 || in_flight.contains(id),
            "{id} arrived {n} times but was not being sent at the kill"
        );
    }
    assert!(sink.count() - 1000 <= in_flight.len());
    assert!(!std::fs::exists(dir.path().join("outbox")).unwrap());
}

#[tokio::test]
async fn delivery_progress_is_counted_per_round() {
    let db = TestDatabase::create().await;
    let store = open_store(&db).await;
    let now = coffee_trials::store::time::to_db(Utc::now());
    let (trial_id,): (i64,) = sqlx::query_as(
        "INSERT INTO trials (slug, name, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         RETURNING id",
    )
    .bind("progress")
    .bind("Progress")
    .bind(&now)
    .fetch_one(store.pool())
    .await
    .unwrap();
    let mut rounds = Vec::new();
    for number in [1i64, 2] {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO rounds (trial_id, number, seed, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(trial_id)
        .bind(number)
        .bind("seed")
        .bind(&now)
        .fetch_one(store.pool())
        .await
        .unwrap();
        rounds.push(id);
    }
    let emails: Vec<NewEmail> = (0..5)
        .map(|n| NewEmail {
            round_id: Some(rounds[usize::from(n == 4)]),
            ..email(n)
        })
        .collect();
    let ids = enqueue_all(&store, &emails).await;
    for (id, state) in [(&ids[0], "sent"), (&ids[1], "failed"), (&ids[2], "sending")] {
        sqlx::query("UPDATE outbox SET state = $1 WHERE message_id = $2")
            .bind(state)
            .bind(id)
            .execute(store.pool())
            .await
            .unwrap();
    }
    let first = store.outbox_progress_for_round(rounds[0]).await.unwrap();
    assert_eq!(
        first,
        OutboxProgress {
            queued: 1,
            sending: 1,
            sent: 1,
            failed: 1
        }
    );
    let second = store.outbox_progress_for_round(rounds[1]).await.unwrap();
    assert_eq!((second.queued, second.total()), (1, 1));
}

#[tokio::test]
async fn organisers_see_failed_messages_and_can_send_them_again() {
    // No worker in the background: this test sends when it chooses to.
    let app = spawn_app_without_loops().await;
    app.sign_up_first_organiser().await;
    // Due only tomorrow: nothing sends it before it is claimed and failed by hand below.
    let tomorrow = Utc::now() + chrono::Duration::days(1);
    let mut tx = app.store.pool().begin().await.unwrap();
    let message_id = enqueue(&mut tx, &email(3), "test.example", tomorrow)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let claimed = app
        .store
        .claim_due_emails(tomorrow, tomorrow + chrono::Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(app
        .store
        .mark_email_failed(
            &claimed[0],
            "550 5.1.1 mailbox unavailable",
            None,
            Utc::now()
        )
        .await
        .unwrap());

    let page = app.get("/admin/outbox").await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    for expected in [
        "person3@example.org",
        "Your coffee partner, message 3",
        "550 5.1.1 mailbox unavailable",
        "id=\"count-failed\">1<",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    let id = claimed[0].id;
    let retried = app
        .submit("/admin/outbox", &format!("/admin/outbox/{id}/retry"), &[])
        .await;
    assert_eq!(retried.status().as_u16(), 303);
    let (state, attempts, _) = state_of(&app.store, &message_id).await;
    assert_eq!(state, "queued");
    assert!(attempts <= 1);
    // One pass of the worker sends it now (to files, as no SMTP_URL is set).
    assert_eq!(app.deliver_outbox().await, [Outcome::Sent]);
    assert_eq!(state_of(&app.store, &message_id).await.0, "sent");

    // Without the form's CSRF token the button does nothing.
    let forged = app
        .client
        .post(app.url(&format!("/admin/outbox/{id}/retry")))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
}

#[tokio::test]
async fn sends_recorded_together_are_each_recorded_only_under_their_own_lease() {
    let db = TestDatabase::create().await;
    let store = open_store(&db).await;
    let ids = enqueue_all(&store, &[email(1), email(2), email(3)]).await;
    let now = Utc::now();
    let claimed = store
        .claim_due_emails(now, now + chrono::Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    // Another sender holds the second message now: its lease moved on.
    let mut taken_over = claimed[1].clone();
    assert!(store
        .renew_email_lease(&mut taken_over, now + chrono::Duration::minutes(9))
        .await
        .unwrap());

    let sent: Vec<(i64, &str)> = claimed
        .iter()
        .map(|e| (e.id, e.lease_until.as_str()))
        .collect();
    let mut recorded = store.mark_emails_sent(&sent, Utc::now()).await.unwrap();
    recorded.sort_unstable();
    assert_eq!(recorded, vec![claimed[0].id, claimed[2].id]);
    assert_eq!(state_of(&store, &ids[0]).await.0, "sent");
    assert_eq!(state_of(&store, &ids[1]).await.0, "sending");
    assert_eq!(state_of(&store, &ids[2]).await.0, "sent");
    // Recorded once: the same records again change nothing.
    assert!(store
        .mark_emails_sent(&sent, Utc::now())
        .await
        .unwrap()
        .is_empty());
}

/// A worker whose senders read a crowd of sign-ups at 5,000 a second (counted where the
/// sign-up desk counts them, already under way) and give way for at most `longest`, with
/// `messages` queued. The crowd goes on until [`Crowd::end`].
struct Crowd {
    _db: TestDatabase,
    store: Store,
    sink: SmtpSink,
    ids: Vec<String>,
    worker: Worker,
    foreground: Foreground,
    done: Arc<AtomicBool>,
    signing_up: tokio::task::JoinHandle<()>,
}

impl Crowd {
    async fn start(messages: usize, longest: Duration) -> Self {
        let db = TestDatabase::create().await;
        let store = open_store(&db).await;
        let sink = SmtpSink::start().await;
        let foreground = Foreground::default();
        let done = Arc::new(AtomicBool::new(false));
        let signing_up = {
            let (foreground, done) = (foreground.clone(), done.clone());
            tokio::spawn(async move {
                while !done.load(Ordering::SeqCst) {
                    for _ in 0..100 {
                        foreground.arrived();
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let emails: Vec<NewEmail> = (1..=messages).map(email).collect();
        let ids = enqueue_all(&store, &emails).await;
        let config = WorkerConfig {
            give_way: GiveWay {
                foreground: foreground.clone(),
                pause: Duration::from_millis(20),
                longest,
            },
            ..fast_config()
        };
        let worker = Worker::start(store.clone(), smtp(&sink.url()), config);
        Crowd {
            _db: db,
            store,
            sink,
            ids,
            worker,
            foreground,
            done,
            signing_up,
        }
    }

    async fn end(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        (&mut self.signing_up).await.unwrap();
    }
}

/// While sign-ups arrive in a crowd the senders give way: a queued message waits as long as
/// the crowd lasts (here shorter than `longest`), and goes out soon after it ends.
#[tokio::test]
async fn senders_give_way_to_a_crowd_of_sign_ups_and_catch_up_after_it() {
    let mut crowd = Crowd::start(1, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(crowd.sink.count(), 0, "a message went out during the crowd");
    assert_eq!(state_of(&crowd.store, &crowd.ids[0]).await.0, "queued");

    crowd.end().await;
    wait_for(
        "the message after the crowd",
        Duration::from_secs(10),
        || async { crowd.sink.copies_of(&crowd.ids[0]) == 1 },
    )
    .await;
    crowd.worker.stop().await;
}

/// A crowd that does not end slows delivery but never stops it: after `longest`, each sender
/// claims a batch anyway.
#[tokio::test]
async fn senders_still_deliver_during_a_crowd_that_does_not_end() {
    let mut crowd = Crowd::start(3, Duration::from_millis(300)).await;
    wait_for(
        "every message during the crowd",
        Duration::from_secs(10),
        || async { crowd.ids.iter().all(|id| crowd.sink.copies_of(id) == 1) },
    )
    .await;
    assert!(crowd.foreground.is_busy_at(std::time::Instant::now()));
    crowd.end().await;
    crowd.worker.stop().await;
}
