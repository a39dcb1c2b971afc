//! Delivery throughput: queues emails and delivers them through the real outbox worker to an
//! SMTP server on 127.0.0.1 (the test sink), then prints emails per second.
//!
//! ```sh
//! cargo bench --bench delivery                      # 5,000 emails, SQLite in a temporary folder
//! cargo bench --bench delivery -- --emails 20000 --senders 8
//! cargo bench --bench delivery -- --round 10000     # publish a round of 10,000, deliver its emails
//! BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench delivery
//! ```
//!
//! The run is a list of stages over one database: a filler (`queue_emails`, or `publish_round`
//! which proposes and publishes a real round through the service, pairing emails, calendar files
//! and all) and then `deliver_all`, the worker draining the outbox.
use std::time::{Duration, Instant};

use chrono::Utc;
use coffee_trials::app::rounds;
use coffee_trials::config::DatabaseUrl;
use coffee_trials::domain::{
    MembershipState, ParticipantDetails, ParticipantInput, TrialInput, TrialSettings,
};
use coffee_trials::mail::transport::Transport;
use coffee_trials::mail::worker::{Worker, WorkerConfig};
use coffee_trials::store::outbox::{enqueue, NewEmail};
use coffee_trials::store::participants::add_member;
use coffee_trials::store::Store;

#[path = "../tests/api/smtp_sink.rs"]
#[allow(dead_code)]
mod smtp_sink;

struct Options {
    emails: usize,
    senders: usize,
    /// Publish a round of this many participants instead of queuing plain emails.
    round: Option<usize>,
}

fn options() -> Options {
    let mut o = Options {
        emails: 5_000,
        senders: WorkerConfig::new("a@b.example".parse().unwrap()).senders,
        round: None,
    };
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        match pair[0].as_str() {
            "--emails" => o.emails = pair[1].parse().expect("--emails N"),
            "--senders" => o.senders = pair[1].parse().expect("--senders N"),
            "--round" => o.round = Some(pair[1].parse().expect("--round N")),
            _ => {}
        }
    }
    o
}

/// Fills the outbox with `n` emails shaped like a pairing notice, in one transaction.
pub async fn queue_emails(store: &Store, n: usize) -> Duration {
    let started = Instant::now();
    let mut tx = store.pool().begin().await.unwrap();
    for i in 0..n {
        let email = NewEmail {
            template: "bench",
            to_address: format!("person{i}@example.org"),
            participant_id: None,
            round_id: None,
            subject: "Your coffee partner for this round".into(),
            body_text: format!(
                "Hello person {i},\n\n{}\n",
                "Meet your partner for a half-hour conversation this week. ".repeat(12)
            ),
            body_html: format!(
                "<p>Hello person {i},</p><p>{}</p>",
                "Meet your partner for a half-hour conversation this week. ".repeat(12)
            ),
            headers_json: r#"{"List-Unsubscribe": "<https://coffee.example/u/x>"}"#.into(),
            attachments_json: "[]".into(),
        };
        enqueue(&mut tx, &email, "bench.example", Utc::now())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    started.elapsed()
}

/// A trial with `n` confirmed participants in twelve departments (not timed), then the timed
/// part: the engine proposes a round and publishing queues one pairing email per person.
/// Answers (emails queued, time to propose, time to publish).
pub async fn publish_round(store: &Store, n: usize) -> (usize, Duration, Duration) {
    let now = Utc::now();
    let input = TrialInput {
        name: "Bench trial".into(),
        slug: "bench".into(),
        ..TrialInput::default()
    };
    let settings = TrialSettings::try_from(&input).unwrap();
    let trial = store.create_trial(&settings, now).await.unwrap();
    let mut tx = store.pool().begin().await.unwrap();
    for i in 0..n {
        let details = ParticipantDetails::parse(
            &ParticipantInput {
                name: format!("Person {i}"),
                email: format!("person{i}@example.org"),
                attribute_value: format!("Department {}", i % 12),
                role: "Analyst".into(),
                introduction: "I work on data about patient flow and like walking meetings.".into(),
                ..ParticipantInput::default()
            },
            &[],
        )
        .unwrap();
        add_member(
            &mut tx,
            trial.id,
            &details,
            MembershipState::Active,
            Some(now),
            now,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let base_url = url::Url::parse("https://coffee.example").unwrap();
    let started = Instant::now();
    let draft = rounds::propose(
        store,
        &trial,
        coffee_trials::domain::RoundKind::Manual,
        None,
        7,
        now,
    )
    .await
    .unwrap()
    .unwrap();
    let proposed = started.elapsed();
    let started = Instant::now();
    let published = rounds::publish(store, &trial, draft.round.id, &base_url, now)
        .await
        .unwrap();
    (published.emails_queued, proposed, started.elapsed())
}

/// Runs the worker until every queued email is sent; answers how long that took.
pub async fn deliver_all(store: &Store, smtp_url: &str, senders: usize) -> Duration {
    let expected = store.outbox_progress().await.unwrap().total();
    let config = WorkerConfig {
        senders,
        idle_poll: Duration::from_millis(10),
        ..WorkerConfig::new(
            "coffee-trials <coffee-trials@bench.example>"
                .parse()
                .unwrap(),
        )
    };
    let transport = Transport::smtp(&url::Url::parse(smtp_url).unwrap(), senders as u32).unwrap();
    let started = Instant::now();
    let worker = Worker::start(store.clone(), transport, config);
    loop {
        let p = store.outbox_progress().await.unwrap();
        assert_eq!(p.failed, 0, "no email may fail");
        if p.sent == expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    worker.stop().await;
    took
}

/// A fresh database: SQLite in a temporary folder, or a new database on BENCH_POSTGRES_URL's
/// server (dropped afterwards).
async fn database() -> (Store, Option<(String, String)>, Option<tempfile::TempDir>) {
    match std::env::var("BENCH_POSTGRES_URL") {
        Ok(server) => {
            let name = format!("ct_bench_{}", std::process::id());
            let admin = sqlx::PgPool::connect(&server).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let mut url = url::Url::parse(&server).unwrap();
            url.set_path(&format!("/{name}"));
            let store = Store::connect(&DatabaseUrl::parse(url.as_str()).unwrap())
                .await
                .unwrap();
            (store, Some((server, name)), None)
        }
        Err(_) => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite:{}", dir.path().join("bench.db").display());
            let store = Store::connect(&DatabaseUrl::parse(&url).unwrap())
                .await
                .unwrap();
            (store, None, Some(dir))
        }
    }
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (store, postgres, _dir) = database().await;
        store.migrate().await.unwrap();
        let sink = smtp_sink::SmtpSink::start().await;
        if let Some(n) = o.round {
            let (emails, proposed, published) = publish_round(&store, n).await;
            let sent = deliver_all(&store, &sink.url(), o.senders).await;
            assert_eq!(sink.count(), emails);
            let total = proposed + published + sent;
            println!(
                "round on {}: {n} participants; proposed in {:.2}s, published ({emails} pairing emails queued) in {:.2}s, delivered over SMTP with {} senders in {:.2}s = {:.0} emails/s; publish to last email {:.2}s",
                store.backend().name(),
                proposed.as_secs_f64(),
                published.as_secs_f64(),
                o.senders,
                sent.as_secs_f64(),
                emails as f64 / sent.as_secs_f64(),
                total.as_secs_f64()
            );
        } else {
            let queued = queue_emails(&store, o.emails).await;
            let sent = deliver_all(&store, &sink.url(), o.senders).await;
            assert_eq!(sink.count(), o.emails);
            println!(
            "delivery on {}: queued {} emails in {:.2}s; delivered them over SMTP with {} senders in {:.2}s = {:.0} emails/s",
            store.backend().name(),
            o.emails,
            queued.as_secs_f64(),
            o.senders,
            sent.as_secs_f64(),
            o.emails as f64 / sent.as_secs_f64()
            );
        }
        store.close().await;
        if let Some((server, name)) = postgres {
            let admin = sqlx::PgPool::connect(&server).await.unwrap();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&admin)
                .await;
        }
    });
}
