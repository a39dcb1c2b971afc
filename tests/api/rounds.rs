use std::collections::HashSet;

use chrono::Utc;
use coffee_trials::domain::{
    MembershipState, ParticipantDetails, ParticipantInput, TrialInput, TrialSettings,
};
use coffee_trials::store::participants::add_member;
use coffee_trials::store::trials::Trial;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const DEPARTMENTS: [&str; 3] = ["Nursing", "Pharmacy", "Estates"];

async fn trial_with_people(app: &TestApp, slug: &str, n: usize) -> Trial {
    let input = TrialInput {
        name: format!("Trial {slug}"),
        slug: slug.into(),
        attribute_values: DEPARTMENTS.join("\n"),
        ..Default::default()
    };
    let trial = app
        .store
        .create_trial(&TrialSettings::try_from(&input).unwrap(), Utc::now())
        .await
        .unwrap();
    let mut tx = app.store.pool().begin().await.unwrap();
    for i in 0..n {
        let person = ParticipantInput {
            name: format!("Person {i:02}"),
            email: format!("p{i}@example.org"),
            attribute_value: DEPARTMENTS[i % 3].into(),
            introduction: if i == 0 {
                "<script>alert(1)</script> likes tea".into()
            } else {
                String::new()
            },
            ..Default::default()
        };
        let details = ParticipantDetails::parse(&person, &DEPARTMENTS).unwrap();
        add_member(
            &mut tx,
            trial.id,
            &details,
            MembershipState::Active,
            Some(Utc::now()),
            Utc::now(),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    trial
}

async fn api(app: &TestApp) -> (reqwest::Client, String) {
    app.sign_up_first_organiser().await;
    (app.anonymous_client(), app.api_token().await)
}

/// POSTs to an organiser API route with the bearer token and reads the JSON answer.
async fn api_post(app: &TestApp, client: &reqwest::Client, token: &str, path: &str) -> Value {
    client
        .post(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn pairs_of(view: &Value) -> HashSet<(String, String)> {
    let mut pairs = HashSet::new();
    for g in view["groups"].as_array().unwrap() {
        let ids: Vec<String> = g["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["public_id"].as_str().unwrap().to_string())
            .collect();
        for i in 0..ids.len() {
            for j in i + 1..ids.len() {
                let (a, b) = if ids[i] < ids[j] {
                    (ids[i].clone(), ids[j].clone())
                } else {
                    (ids[j].clone(), ids[i].clone())
                };
                pairs.insert((a, b));
            }
        }
    }
    pairs
}

#[tokio::test]
async fn a_round_is_proposed_published_once_and_emailed() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "weekly", 7).await;
    let (client, token) = api(&app).await;
    let proposed: Value = client
        .post(app.url("/api/v1/trials/weekly/rounds"))
        .bearer_auth(&token)
        .json(&json!({"seed": 42}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(proposed["round"]["state"], "draft");
    assert_eq!(proposed["round"]["seed"], "42");
    let sizes: Vec<usize> = proposed["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["members"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 7, "everyone is placed");
    assert_eq!(
        sizes.iter().filter(|s| **s == 3).count(),
        1,
        "one group of three for an odd count"
    );
    assert!(proposed["groups"][0]["reason"].as_str().unwrap().len() > 3);
    assert!(
        app.store.list_outbox(100).await.unwrap().is_empty(),
        "a draft sends nothing"
    );

    let published: Value = api_post(
        &app,
        &client,
        &token,
        "/api/v1/trials/weekly/rounds/1/publish",
    )
    .await;
    assert_eq!(
        published,
        json!({"newly_published": true, "emails_queued": 7})
    );
    let again: Value = api_post(
        &app,
        &client,
        &token,
        "/api/v1/trials/weekly/rounds/1/publish",
    )
    .await;
    assert_eq!(again, json!({"newly_published": false, "emails_queued": 0}));
    let outbox = app.store.list_outbox(100).await.unwrap();
    assert_eq!(outbox.len(), 7);
    let to_person_one = outbox
        .iter()
        .find(|m| m.to_address == "p1@example.org")
        .unwrap();
    assert!(to_person_one.subject.contains("Trial weekly"));
    assert!(to_person_one
        .body_text
        .contains("/techniques/randomised-coffee-trials"));
    assert!(
        to_person_one.body_text.contains("@example.org"),
        "partners' addresses are given"
    );
    assert!(
        to_person_one.body_text.contains("/m/") && to_person_one.body_text.contains("/u/"),
        "manage and unsubscribe links"
    );
    let (headers,): (String,) =
        sqlx::query_as("SELECT headers_json FROM outbox WHERE to_address = 'p1@example.org'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert!(headers.contains("List-Unsubscribe-Post"), "{headers}");
    let rows: Vec<(String,)> = sqlx::query_as("SELECT attachments_json FROM outbox")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert!(rows.iter().all(|(a,)| a.contains("BEGIN:VCALENDAR")));
    for m in &outbox {
        assert!(
            !m.body_html.contains("<script>alert"),
            "introductions are escaped in HTML"
        );
    }

    let changed = client
        .post(app.url("/api/v1/trials/weekly/rounds/1/reshuffle"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        changed.status().as_u16(),
        409,
        "a published round never changes"
    );
    let rounds = app.store.list_rounds(trial.id).await.unwrap();
    assert_eq!(rounds.len(), 1);
}

#[tokio::test]
async fn rounds_do_not_repeat_pairs_while_a_fresh_pairing_exists() {
    let app = spawn_app().await;
    trial_with_people(&app, "cohort", 8).await;
    let (client, token) = api(&app).await;
    let mut seen: HashSet<(String, String)> = HashSet::new();
    // Eight people can have seven rounds with nobody meeting twice.
    for number in 1..=7 {
        let view: Value = api_post(&app, &client, &token, "/api/v1/trials/cohort/rounds").await;
        let pairs = pairs_of(&view);
        assert_eq!(pairs.len(), 4);
        assert!(pairs.is_disjoint(&seen), "round {number} repeats a pair");
        seen.extend(pairs);
        let published = client
            .post(app.url(&format!("/api/v1/trials/cohort/rounds/{number}/publish")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(published.status().as_u16(), 200);
    }
    assert_eq!(seen.len(), 28, "everyone met everyone");
}

#[tokio::test]
async fn paused_and_skipping_people_sit_a_round_out() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "breaks", 6).await;
    let (client, token) = api(&app).await;
    let members = app
        .store
        .list_members(trial.id, &Default::default())
        .await
        .unwrap();
    app.store
        .set_member_state(
            members[0].membership_id,
            MembershipState::Paused,
            Some(Utc::now() + chrono::Duration::days(30)),
            Utc::now(),
        )
        .await
        .unwrap();
    app.store
        .set_skip_next_round(members[1].membership_id, true, Utc::now())
        .await
        .unwrap();
    app.store
        .set_member_state(
            members[2].membership_id,
            MembershipState::Left,
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    let view: Value = api_post(&app, &client, &token, "/api/v1/trials/breaks/rounds").await;
    let placed: HashSet<String> = view["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| {
            g["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["public_id"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(placed.len(), 3);
    for m in &members[..3] {
        assert!(
            !placed.contains(&m.public_id),
            "{} should sit this round out",
            m.name
        );
    }
    api_post(
        &app,
        &client,
        &token,
        "/api/v1/trials/breaks/rounds/1/publish",
    )
    .await;
    let skipper = app
        .store
        .find_member_by_id(members[1].membership_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!skipper.skip_next_round, "skipping lasts one round");
}

#[tokio::test]
async fn organisers_preview_swap_and_publish_in_the_console() {
    let app = spawn_app().await;
    trial_with_people(&app, "console", 4).await;
    app.sign_up_first_organiser().await;
    let started = app
        .submit(
            "/admin/trials/console/rounds",
            "/admin/trials/console/rounds",
            &[],
        )
        .await;
    assert_eq!(started.status().as_u16(), 303);
    assert_eq!(
        started.headers()["location"],
        "/admin/trials/console/rounds/1"
    );
    let page = app.get_html("/admin/trials/console/rounds/1").await;
    assert!(page.contains("Draft") && page.contains("Person 00"));

    let trial = app.store.find_trial("console").await.unwrap().unwrap();
    let round_id = app
        .store
        .find_round_by_number(trial.id, 1)
        .await
        .unwrap()
        .unwrap()
        .id;
    let members = app.store.round_members(round_id).await.unwrap();
    let a = members[0].clone();
    let a_partner = members
        .iter()
        .find(|m| m.group_id == a.group_id && m.public_id != a.public_id)
        .unwrap()
        .clone();
    let b = members
        .iter()
        .find(|m| m.group_id != a.group_id)
        .unwrap()
        .clone();
    let b_partner = members
        .iter()
        .find(|m| m.group_id == b.group_id && m.public_id != b.public_id)
        .unwrap()
        .clone();
    let swapped = app
        .submit(
            "/admin/trials/console/rounds/1",
            "/admin/trials/console/rounds/1/swap",
            &[("a", &a.public_id), ("b", &b.public_id)],
        )
        .await;
    assert_eq!(swapped.status().as_u16(), 303);
    let after = app.store.round_members(round_id).await.unwrap();
    let group_of = |public_id: &str| {
        after
            .iter()
            .find(|m| m.public_id == public_id)
            .unwrap()
            .group_id
    };
    assert_eq!(group_of(&a.public_id), group_of(&b_partner.public_id));
    assert_eq!(group_of(&b.public_id), group_of(&a_partner.public_id));

    let same = app
        .submit(
            "/admin/trials/console/rounds/1",
            "/admin/trials/console/rounds/1/swap",
            &[("a", &a.public_id), ("b", &a.public_id)],
        )
        .await;
    assert_eq!(same.status().as_u16(), 422);

    let published = app
        .submit(
            "/admin/trials/console/rounds/1/publish",
            "/admin/trials/console/rounds/1/publish",
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(published.status().as_u16(), 303);
    let html = app
        .get_html(published.headers()["location"].to_str().unwrap())
        .await;
    assert!(html.contains("4 pairing emails"));
    assert!(
        html.contains("id=\"delivery\""),
        "delivery progress is shown once published"
    );
    assert_eq!(app.store.list_outbox(10).await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_skip_after_the_draft_is_flagged_and_a_reshuffle_leaves_them_out() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "late-skip", 6).await;
    app.sign_up_first_organiser().await;
    app.submit(
        "/admin/trials/late-skip/rounds",
        "/admin/trials/late-skip/rounds",
        &[],
    )
    .await;
    let page = app.get_html("/admin/trials/late-skip/rounds/1").await;
    assert!(!page.contains("id=\"skipping\""), "nobody has skipped yet");

    let members = app
        .store
        .list_members(trial.id, &Default::default())
        .await
        .unwrap();
    let skipper = members
        .iter()
        .find(|m| m.name == "Person 03")
        .unwrap()
        .clone();
    coffee_trials::app::participants::skip_next_round(&app.store, &skipper, true, Utc::now())
        .await
        .unwrap();
    let page = app.get_html("/admin/trials/late-skip/rounds/1").await;
    assert!(page.contains("id=\"skipping\""), "{page}");
    assert!(page.contains("1 person has asked to skip this round"));
    assert!(page.contains(
        "Person 03 <span class=\"meta\">(Nursing)</span> <strong class=\"error skipping\">"
    ));

    app.submit(
        "/admin/trials/late-skip/rounds/1",
        "/admin/trials/late-skip/rounds/1/reshuffle",
        &[],
    )
    .await;
    let round_id = app
        .store
        .find_round_by_number(trial.id, 1)
        .await
        .unwrap()
        .unwrap()
        .id;
    let placed = app.store.round_members(round_id).await.unwrap();
    assert_eq!(placed.len(), 5, "the other five: a pair and a trio");
    assert!(placed.iter().all(|m| m.public_id != skipper.public_id));
    let page = app.get_html("/admin/trials/late-skip/rounds/1").await;
    assert!(!page.contains("id=\"skipping\""));
}

#[tokio::test]
async fn a_skip_that_a_published_draft_ignored_is_kept_for_the_next_round() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "kept-skip", 4).await;
    let (client, token) = api(&app).await;
    api_post(&app, &client, &token, "/api/v1/trials/kept-skip/rounds").await;
    let members = app
        .store
        .list_members(trial.id, &Default::default())
        .await
        .unwrap();
    // Asks to skip after the draft was drawn up; the organiser publishes it as it is.
    coffee_trials::app::participants::skip_next_round(&app.store, &members[0], true, Utc::now())
        .await
        .unwrap();
    api_post(
        &app,
        &client,
        &token,
        "/api/v1/trials/kept-skip/rounds/1/publish",
    )
    .await;
    let skipper = app
        .store
        .find_member_by_id(members[0].membership_id)
        .await
        .unwrap()
        .unwrap();
    assert!(skipper.skip_next_round, "the skip was not honoured yet");

    let next: Value = api_post(&app, &client, &token, "/api/v1/trials/kept-skip/rounds").await;
    let placed: Vec<&str> = next["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["members"].as_array().unwrap())
        .map(|m| m["public_id"].as_str().unwrap())
        .collect();
    assert!(!placed.contains(&members[0].public_id.as_str()));
}

#[tokio::test]
async fn a_trial_of_threes_gets_groups_of_three_and_each_email_names_both_partners() {
    let app = spawn_app().await;
    trial_with_people(&app, "threes", 9).await;
    let (client, token) = api(&app).await;
    let updated = client
        .put(app.url("/api/v1/trials/threes"))
        .bearer_auth(&token)
        .json(&json!({
            "name": "Trial threes",
            "slug": "threes",
            "attribute_values": DEPARTMENTS.join("\n"),
            "group_size": "3",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status().as_u16(), 200);
    let proposed: Value = client
        .post(app.url("/api/v1/trials/threes/rounds"))
        .bearer_auth(&token)
        .json(&json!({"seed": 7}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let groups = proposed["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3, "{proposed}");
    // (name, email) of each member, group by group.
    let mut names_in: Vec<Vec<(String, String)>> = Vec::new();
    for g in groups {
        let members = g["members"].as_array().unwrap();
        assert_eq!(members.len(), 3);
        let reason = g["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("group of three; none have met"),
            "{reason}"
        );
        names_in.push(
            members
                .iter()
                .map(|m| {
                    (
                        m["name"].as_str().unwrap().to_string(),
                        m["email"].as_str().unwrap().to_string(),
                    )
                })
                .collect(),
        );
    }
    assert_eq!(pairs_of(&proposed).len(), 9, "three pairs in each group");

    let published: Value = api_post(
        &app,
        &client,
        &token,
        "/api/v1/trials/threes/rounds/1/publish",
    )
    .await;
    assert_eq!(
        published,
        json!({"newly_published": true, "emails_queued": 9})
    );
    let outbox = app.store.list_outbox(100).await.unwrap();
    assert_eq!(outbox.len(), 9);
    for group in &names_in {
        for (i, (me, address)) in group.iter().enumerate() {
            let email = outbox.iter().find(|m| &m.to_address == address).unwrap();
            assert!(
                email.body_text.contains("two people"),
                "{}",
                email.body_text
            );
            // One entry per partner (each has a "Can meet" line); never oneself.
            assert_eq!(email.body_text.matches("Can meet: ").count(), 2);
            assert!(!email.body_text.contains(&format!("Email: {address}")));
            for (j, (partner, partner_address)) in group.iter().enumerate() {
                if i != j {
                    assert!(
                        email.body_text.contains(&format!("\n{partner}\n"))
                            && email
                                .body_text
                                .contains(&format!("Email: {partner_address}")),
                        "{me}'s email names {partner}: {}",
                        email.body_text
                    );
                }
            }
        }
    }
}

/// Runs the binary against the test database.
fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_coffee-trials"))
        .args(args)
        .env("DATABASE_URL", app._db.url())
        .env_remove("BIND")
        .output()
        .expect("the binary runs")
}

/// The lines of the output that describe groups.
fn group_lines(out: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(" + "))
        .map(str::to_string)
        .collect()
}

async fn count_rows(app: &TestApp, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn a_dry_run_on_the_command_line_writes_nothing_and_shows_what_the_run_makes() {
    let app = spawn_app().await;
    trial_with_people(&app, "dry", 6).await;
    let args = ["round", "run", "--trial", "dry", "--seed", "42"];

    let dry = cli(&app, &[&args[..], &["--dry-run"]].concat());
    let stdout = String::from_utf8_lossy(&dry.stdout);
    assert_eq!(
        dry.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(
        stdout.contains("Round 1 of Trial dry (seed 42): 3 groups"),
        "{stdout}"
    );
    assert!(stdout.contains("nothing was saved"), "{stdout}");
    assert_eq!(group_lines(&dry).len(), 3, "{stdout}");
    for table in ["rounds", "round_groups", "round_group_members", "outbox"] {
        let n = count_rows(&app, &format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(n, 0, "the dry run wrote to {table}");
    }

    // The real run with the same seed makes the groups the dry run showed.
    let real = cli(&app, &args);
    assert_eq!(
        real.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    assert_eq!(group_lines(&real), group_lines(&dry));
    assert_eq!(count_rows(&app, "SELECT COUNT(*) FROM rounds").await, 1);
}
