//! Organiser pages of a big trial: seeds 10,000 people and 50 published rounds with answers
//! into a fresh database, starts the service on 127.0.0.1 and prints how long the dashboard,
//! the participants page and the participants API take, one at a time and 16 at once, and
//! how long `/healthz` takes while a dashboard is being computed.
//!
//! ```sh
//! cargo bench --bench dashboard                              # SQLite in a temporary folder
//! cargo bench --bench dashboard -- --people 100000 --rounds 5
//! BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench dashboard
//! ```
//!
//! With `BENCH_KEEP_DATABASE=1` the PostgreSQL database is kept afterwards (its name is
//! printed), to read query plans in it.
//!
//! Seeding writes the rounds, groups and answers with plain bulk SQL (the engine and the
//! pairing emails are not what is measured here); people are added through the store.
use std::time::{Duration, Instant};

use chrono::Utc;
use coffee_trials::config::{DatabaseUrl, RawSettings, Settings};
use coffee_trials::domain::{
    MembershipState, ParticipantDetails, ParticipantInput, TrialInput, TrialSettings,
};
use coffee_trials::startup::Application;
use coffee_trials::store::participants::add_member;
use coffee_trials::store::Store;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const SLUG: &str = "bench";
const PASSWORD: &str = "correct horse battery staple 42";

struct Options {
    people: usize,
    rounds: usize,
    repeats: usize,
}

fn options() -> Options {
    let mut o = Options {
        people: 10_000,
        rounds: 50,
        repeats: 20,
    };
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        match pair[0].as_str() {
            "--people" => o.people = pair[1].parse().expect("--people N"),
            "--rounds" => o.rounds = pair[1].parse().expect("--rounds N"),
            "--repeats" => o.repeats = pair[1].parse().expect("--repeats N"),
            _ => {}
        }
    }
    o
}

/// A fresh database URL: SQLite in a temporary folder, or a new database on
/// BENCH_POSTGRES_URL's server (dropped afterwards).
async fn database() -> (String, Option<(String, String)>, Option<tempfile::TempDir>) {
    match std::env::var("BENCH_POSTGRES_URL") {
        Ok(server) => {
            let name = format!("ct_dash_{}", std::process::id());
            let admin = sqlx::PgPool::connect(&server).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let mut url = url::Url::parse(&server).unwrap();
            url.set_path(&format!("/{name}"));
            (url.to_string(), Some((server, name)), None)
        }
        Err(_) => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite:{}", dir.path().join("bench.db").display());
            (url, None, Some(dir))
        }
    }
}

/// Runs `sql` statements of `rows` joined into multi-row inserts of `chunk` rows each.
async fn insert_rows(store: &Store, head: &str, rows: &[String], chunk: usize) {
    let mut tx = store.pool().begin().await.unwrap();
    for part in rows.chunks(chunk) {
        let sql = format!("{head} VALUES {}", part.join(", "));
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// The trial, its people in twelve departments, and `rounds` published rounds of pairs (a
/// trio when the number is odd), each answered by about 60 % of the people, with a rating
/// and now and then a shared takeaway. Each round is drawn as a draft and then published,
/// as the service does. On PostgreSQL the tables are then vacuumed and analysed, as
/// autovacuum would have done in a service that grew to this size over months.
async fn seed(store: &Store, o: &Options) -> Duration {
    let started = Instant::now();
    let now = Utc::now();
    let departments: Vec<String> = (0..12).map(|i| format!("Department {i}")).collect();
    let input = TrialInput {
        name: "Bench trial".into(),
        slug: SLUG.into(),
        attribute_name: "Department".into(),
        attribute_values: departments.join("\n"),
        ..TrialInput::default()
    };
    let settings = TrialSettings::try_from(&input).unwrap();
    let trial = store.create_trial(&settings, now).await.unwrap();
    let mut tx = store.pool().begin().await.unwrap();
    for i in 0..o.people {
        let details = ParticipantDetails::parse(
            &ParticipantInput {
                name: format!("Person {i}"),
                email: format!("person{i}@example.org"),
                attribute_value: departments[i % 12].clone(),
                ..ParticipantInput::default()
            },
            &[],
        )
        .unwrap();
        let state = if i % 20 == 0 {
            MembershipState::Pending
        } else {
            MembershipState::Active
        };
        add_member(&mut tx, trial.id, &details, state, Some(now), now)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let members: Vec<(i64,)> = sqlx::query_as("SELECT id FROM memberships WHERE trial_id = $1")
        .bind(trial.id)
        .fetch_all(store.pool())
        .await
        .unwrap();
    let mut members: Vec<i64> = members.into_iter().map(|(id,)| id).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(18);
    let stamp = chrono::SecondsFormat::Secs;
    let at = now.to_rfc3339_opts(stamp, true);
    let outcomes = ["met", "met", "met", "some_met", "not_yet", "could_not_meet"];
    for number in 1..=o.rounds as i64 {
        let (round_id,): (i64,) = sqlx::query_as(
            "INSERT INTO rounds (trial_id, number, kind, state, seed, created_at) \
             VALUES ($1, $2, 'manual', 'draft', $3, $4) RETURNING id",
        )
        .bind(trial.id)
        .bind(number)
        .bind(number.to_string())
        .bind(&at)
        .fetch_one(store.pool())
        .await
        .unwrap();
        members.shuffle(&mut rng);
        let mut groups: Vec<&[i64]> = members.chunks(2).collect();
        if members.len() % 2 == 1 && groups.len() > 1 {
            let last = groups.pop().unwrap();
            let before = groups.pop().unwrap();
            let start = members.len() - before.len() - last.len();
            groups.push(&members[start..]);
        }
        let group_rows: Vec<String> = (1..=groups.len())
            .map(|position| format!("({round_id}, {position}, '')"))
            .collect();
        insert_rows(
            store,
            "INSERT INTO round_groups (round_id, position, reason)",
            &group_rows,
            2000,
        )
        .await;
        let ids: Vec<(i64, i64)> =
            sqlx::query_as("SELECT position, id FROM round_groups WHERE round_id = $1")
                .bind(round_id)
                .fetch_all(store.pool())
                .await
                .unwrap();
        let mut id_of = vec![0i64; groups.len() + 1];
        for (position, id) in ids {
            id_of[position as usize] = id;
        }
        let mut member_rows = Vec::new();
        let mut answer_rows = Vec::new();
        for (i, group) in groups.iter().enumerate() {
            let group_id = id_of[i + 1];
            let outcome = outcomes[rng.random_range(0..outcomes.len())];
            for &m in group.iter() {
                member_rows.push(format!("({group_id}, {m})"));
                if rng.random_bool(0.6) {
                    let rating = rng.random_range(1..=5);
                    let (takeaway, share) = if rng.random_bool(0.01) {
                        (format!("Note {number}-{m}: worth it"), 1)
                    } else {
                        (String::new(), 0)
                    };
                    answer_rows.push(format!(
                        "({group_id}, {m}, '{outcome}', {rating}, '{takeaway}', {share}, '{at}', '{at}')"
                    ));
                }
            }
        }
        insert_rows(
            store,
            "INSERT INTO round_group_members (group_id, membership_id)",
            &member_rows,
            2000,
        )
        .await;
        sqlx::query("UPDATE rounds SET state = 'published', published_at = $1 WHERE id = $2")
            .bind(&at)
            .bind(round_id)
            .execute(store.pool())
            .await
            .unwrap();
        insert_rows(
            store,
            "INSERT INTO feedback (group_id, membership_id, outcome, rating, takeaway, \
             share_consent, created_at, updated_at)",
            &answer_rows,
            1000,
        )
        .await;
    }
    if *store.backend() == coffee_trials::store::Backend::Postgres {
        sqlx::query("VACUUM ANALYZE")
            .execute(store.pool())
            .await
            .unwrap();
    }
    started.elapsed()
}

/// The `csrf_token` field of a page's form.
fn csrf_from(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a form with a CSRF field") + marker.len();
    html[start..start + 64].to_string()
}

/// Creates the first organiser through the set-up link; the client keeps the session cookie.
/// Answers an API token made in the console.
async fn sign_in(store: &Store, client: &reqwest::Client, base: &str) -> String {
    let link =
        coffee_trials::app::accounts::issue_setup_link(store, &url::Url::parse(base).unwrap())
            .await
            .unwrap()
            .expect("no organiser yet");
    let page = client
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = client
        .post(&link)
        .form(&[
            ("csrf_token", csrf_from(&page).as_str()),
            ("email", "organiser@example.org"),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "the organiser account is made");
    let tokens = format!("{base}/admin/tokens");
    let page = client
        .get(&tokens)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let html = client
        .post(&tokens)
        .form(&[("csrf_token", csrf_from(&page).as_str()), ("name", "bench")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "<code id=\"new-token\">";
    let start = html.find(marker).expect("the new token is shown") + marker.len();
    html[start..start + 64].to_string()
}

/// One GET, answered 200, with its body read: how long it took.
async fn timed(request: reqwest::RequestBuilder) -> Duration {
    let started = Instant::now();
    let r = request.send().await.unwrap();
    let status = r.status();
    let body = r.bytes().await.unwrap();
    assert_eq!(status.as_u16(), 200, "{}", String::from_utf8_lossy(&body));
    started.elapsed()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// p50 and max in milliseconds.
fn summary(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    (ms(times[times.len() / 2]), ms(*times.last().unwrap()))
}

async fn one_at_a_time(n: usize, make: impl Fn() -> reqwest::RequestBuilder) -> (f64, f64) {
    let mut times = Vec::new();
    for _ in 0..n {
        times.push(timed(make()).await);
    }
    summary(times)
}

async fn sixteen_at_once(make: impl Fn() -> reqwest::RequestBuilder) -> (f64, f64) {
    let tasks: Vec<_> = (0..16).map(|_| tokio::spawn(timed(make()))).collect();
    let mut times = Vec::new();
    for t in tasks {
        times.push(t.await.unwrap());
    }
    summary(times)
}

/// Changes one answer (as a person would), which moves the trial's version.
async fn change_an_answer(store: &Store) {
    sqlx::query(
        "UPDATE feedback SET rating = CASE WHEN rating = 5 THEN 4 ELSE 5 END \
         WHERE id = (SELECT MIN(id) FROM feedback)",
    )
    .execute(store.pool())
    .await
    .unwrap();
}

#[tokio::main]
async fn main() {
    let o = options();
    let (url, postgres, _dir) = database().await;
    let backend = if postgres.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let outbox = tempfile::tempdir().unwrap();
    let mut settings = Settings::from_raw(RawSettings {
        database_url: Some(url.clone()),
        bind: Some("127.0.0.1:0".into()),
        outbox_dir: Some(outbox.path().display().to_string()),
        ..Default::default()
    })
    .unwrap();
    settings.background_loops = false;
    let store = Store::connect(&DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let seeding = seed(&store, &o).await;
    let (placements,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM round_group_members")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let (answers,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM feedback")
        .fetch_one(store.pool())
        .await
        .unwrap();

    let app = Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let token = sign_in(&store, &client, &base).await;
    let dashboard = format!("{base}/admin/trials/{SLUG}/dashboard");
    let page = format!("{base}/admin/trials/{SLUG}/participants");
    let api = format!("{base}/api/v1/trials/{SLUG}/participants?limit=1000");
    let healthz = format!("{base}/healthz");

    let first = timed(client.get(&dashboard)).await;
    let warm = one_at_a_time(o.repeats, || client.get(&dashboard)).await;
    let warm16 = sixteen_at_once(|| client.get(&dashboard)).await;
    // A restart, or a second instance: a service with nothing in memory, on the same database
    // (the sign-in is stored there too), whose first view finds every round's figures stored.
    let restarted = Application::build(&settings).await.unwrap();
    let restarted_dashboard = format!(
        "http://127.0.0.1:{}/admin/trials/{SLUG}/dashboard",
        restarted.port()
    );
    tokio::spawn(restarted.run_until_stopped());
    let after_restart = timed(client.get(&restarted_dashboard)).await;

    // After a change: the first view computes again; meanwhile /healthz is asked repeatedly.
    change_an_answer(&store).await;
    let stale = tokio::spawn(timed(client.get(&dashboard)));
    let mut health = Vec::new();
    while !stale.is_finished() {
        health.push(timed(client.get(&healthz)).await);
    }
    let mut after_change = vec![stale.await.unwrap()];
    let health_count = health.len();
    let health = summary(health);
    // More answers, each followed by one view that computes again.
    for _ in 1..o.repeats.min(10) {
        change_an_answer(&store).await;
        after_change.push(timed(client.get(&dashboard)).await);
    }
    let after_change = summary(after_change);
    change_an_answer(&store).await;
    let stale16 = sixteen_at_once(|| client.get(&dashboard)).await;

    let people_page = one_at_a_time(o.repeats, || client.get(&page)).await;
    let people_page16 = sixteen_at_once(|| client.get(&page)).await;
    // The page's filters (formerly an ignored test that printed them).
    let mut filtered = Vec::new();
    for query in [
        "history=never-paired",
        "history=paired",
        "history=gave-feedback",
        "history=no-feedback",
        "history=email-problems",
        "history=paired&search=person%2012",
        "history=paired&page=80",
    ] {
        let url = format!("{page}?{query}");
        filtered.push((query, one_at_a_time(o.repeats, || client.get(&url)).await));
    }
    let api_one = one_at_a_time(o.repeats, || client.get(&api).bearer_auth(&token)).await;
    let api16 = sixteen_at_once(|| client.get(&api).bearer_auth(&token)).await;

    println!();
    println!(
        "{backend}: {} people, {} published rounds, {placements} placements, {answers} answers \
         (seeded in {:.1} s)",
        o.people,
        o.rounds,
        seeding.as_secs_f64()
    );
    println!();
    println!("| request | one at a time p50 ms | max ms | 16 at once p50 ms | max ms |");
    println!("|---|---|---|---|---|");
    println!(
        "| dashboard, first view (computes every round, stores each) | {:.1} | | | |",
        ms(first)
    );
    println!(
        "| dashboard, first view after a restart (reads them back) | {:.1} | | | |",
        ms(after_restart)
    );
    println!(
        "| dashboard, unchanged (from memory) | {:.1} | {:.1} | {:.1} | {:.1} |",
        warm.0, warm.1, warm16.0, warm16.1
    );
    println!(
        "| dashboard, first view after an answer changed | {:.1} | {:.1} | {:.1} | {:.1} |",
        after_change.0, after_change.1, stale16.0, stale16.1
    );
    println!(
        "| `/healthz` while that dashboard computed ({} requests) | {:.2} | {:.2} | | |",
        health_count, health.0, health.1
    );
    println!(
        "| participants page | {:.1} | {:.1} | {:.1} | {:.1} |",
        people_page.0, people_page.1, people_page16.0, people_page16.1
    );
    for (query, (p50, max)) in &filtered {
        println!("| participants page, `{query}` | {p50:.1} | {max:.1} | | |");
    }
    println!(
        "| API participants `limit=1000` | {:.1} | {:.1} | {:.1} | {:.1} |",
        api_one.0, api_one.1, api16.0, api16.1
    );
    println!();

    store.close().await;
    // BENCH_KEEP_DATABASE=1 keeps the seeded PostgreSQL database, to read query plans in it.
    if std::env::var_os("BENCH_KEEP_DATABASE").is_some() {
        if let Some((_, name)) = &postgres {
            println!("kept the database {name}");
        }
    } else if let Some((server, name)) = postgres {
        let admin = sqlx::PgPool::connect(&server).await.unwrap();
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&admin)
            .await;
    }
}
