//! Schedules: saving one (console and API), and `schedule::tick` creating one round per slot,
//! publishing or keeping drafts, and sending the pre-round notice once with its skip link.
//! The clock is the `now` passed to `tick`; trials are created "in 2030" so that the
//! background loop of the test app, which ticks with the real clock, never touches them.
use chrono::{DateTime, Duration, Utc};
use coffee_trials::app::schedule::{tick, TickReport};
use coffee_trials::config::DatabaseUrl;
use coffee_trials::domain::{
    MembershipState, ParticipantDetails, ParticipantInput, TrialInput, TrialSettings,
};
use coffee_trials::store::participants::{add_member, AddOutcome};
use coffee_trials::store::trials::Trial;
use coffee_trials::store::Store;
use serde_json::{json, Value};

use crate::helpers::{csrf_from, spawn_app, spawn_app_with, spawn_app_without_loops, TestApp};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// When the trials below are saved: Tuesday 1 January 2030.
fn saved_at() -> DateTime<Utc> {
    at("2030-01-01T00:00:00Z")
}

/// The first slot of "0 9 * * 1" in UTC after `saved_at`: Monday 7 January 2030.
fn first_slot() -> DateTime<Utc> {
    at("2030-01-07T09:00:00Z")
}

fn base_url(app: &TestApp) -> url::Url {
    url::Url::parse(&app.address).unwrap()
}

/// A weekly programme (Mondays 09:00 UTC) with `n` active people at `@{domain}`; returns the
/// trial and the people's membership ids.
async fn weekly_trial(
    app: &TestApp,
    slug: &str,
    auto_publish: bool,
    n: usize,
    domain: &str,
) -> (Trial, Vec<i64>) {
    let input = TrialInput {
        name: format!("Trial {slug}"),
        slug: slug.into(),
        schedule: "0 9 * * 1".into(),
        auto_publish,
        notice_hours: "48".into(),
        ..Default::default()
    };
    let trial = app
        .store
        .create_trial(&TrialSettings::try_from(&input).unwrap(), saved_at())
        .await
        .unwrap();
    let mut tx = app.store.pool().begin().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let person = ParticipantInput {
            name: format!("Person {i}"),
            email: format!("p{i}@{domain}"),
            ..Default::default()
        };
        let details = ParticipantDetails::parse(&person, &[]).unwrap();
        match add_member(
            &mut tx,
            trial.id,
            &details,
            MembershipState::Active,
            Some(saved_at()),
            saved_at(),
        )
        .await
        .unwrap()
        {
            AddOutcome::Added { membership_id, .. } => ids.push(membership_id),
            other => panic!("not added: {other:?}"),
        }
    }
    tx.commit().await.unwrap();
    (trial, ids)
}

async fn tick_at(store: &Store, app: &TestApp, now: DateTime<Utc>) -> TickReport {
    let report = tick(store, &base_url(app), now).await.unwrap();
    assert_eq!(report.failures, 0, "no trial failed");
    report
}

/// Emails of one template to addresses at `domain`.
async fn emails(app: &TestApp, template: &str, domain: &str) -> Vec<(String, String)> {
    app.store
        .list_outbox(10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.template == template && e.to_address.ends_with(domain))
        .map(|e| (e.to_address, e.body_text))
        .collect()
}

async fn sign_in_with_token(app: &TestApp) -> String {
    app.sign_up_first_organiser().await;
    app.api_token().await
}

#[tokio::test]
async fn the_console_shows_the_next_three_runs_and_keeps_a_bad_schedule() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let response = app
        .submit(
            "/admin/trials/new",
            "/admin/trials",
            &[
                ("name", "Fortnightly coffee"),
                ("slug", "fortnightly"),
                ("kind", "programme"),
                ("time_zone", "Europe/London"),
                (
                    "schedule",
                    "every 2 weeks on Monday at 09:00 starting 2030-01-07",
                ),
                ("notice_hours", "24"),
                ("feedback_delay_days", "7"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let page = app.get_html("/admin/trials/fortnightly?saved=1").await;
    assert!(page.contains("every 2 weeks on Monday at 09:00 starting 2030-01-07"));
    for run in [
        "Monday 7 January 2030, 09:00 (Europe/London)",
        "Monday 21 January 2030, 09:00 (Europe/London)",
        "Monday 4 February 2030, 09:00 (Europe/London)",
    ] {
        assert!(page.contains(run), "{run} is listed");
    }
    assert!(!page.contains("18 February 2030"), "three runs, not four");

    let response = app
        .submit(
            "/admin/trials/fortnightly",
            "/admin/trials/fortnightly",
            &[
                ("name", "Fortnightly coffee, renamed"),
                ("slug", "fortnightly"),
                ("kind", "programme"),
                ("time_zone", "Europe/London"),
                ("schedule", "every Funday at 9am"),
                ("notice_hours", "24"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("id=\"schedule-error\""),
        "the message is at the field"
    );
    assert!(page.contains("is not a day of the week"));
    assert!(
        page.contains("value=\"every Funday at 9am\""),
        "the schedule is kept"
    );
    assert!(
        page.contains("value=\"Fortnightly coffee, renamed\""),
        "the name is kept"
    );
    let trial = app.store.find_trial("fortnightly").await.unwrap().unwrap();
    assert_eq!(trial.name, "Fortnightly coffee", "nothing was saved");
}

#[tokio::test]
async fn the_api_gives_next_runs_and_names_a_bad_schedule() {
    let app = spawn_app().await;
    let token = sign_in_with_token(&app).await;
    let client = app.anonymous_client();
    let response = client
        .post(app.url("/api/v1/trials"))
        .bearer_auth(&token)
        .json(&json!({
            "name": "Weekly", "slug": "weekly", "time_zone": "Europe/London",
            "schedule": "30 8 * * MON-FRI", "auto_publish": true, "notice_hours": 24
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["schedule"], "30 8 * * MON-FRI");
    assert_eq!(body["auto_publish"], true);
    assert_eq!(body["notice_hours"], 24);
    let runs = body["next_runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    let london: chrono_tz::Tz = "Europe/London".parse().unwrap();
    let mut previous = Utc::now();
    for run in runs {
        let t = at(run.as_str().unwrap()).with_timezone(&london);
        assert_eq!(t.format("%H:%M").to_string(), "08:30");
        assert!(!matches!(
            t.format("%a").to_string().as_str(),
            "Sat" | "Sun"
        ));
        assert!(t.with_timezone(&Utc) > previous);
        previous = t.with_timezone(&Utc);
    }

    for (schedule, words) in [("0 9 * *", "five fields"), ("every Monday", "what time")] {
        let response = client
            .put(app.url("/api/v1/trials/weekly"))
            .bearer_auth(&token)
            .json(&json!({"name": "Weekly", "slug": "weekly", "schedule": schedule}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 422);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["field"], "schedule");
        assert!(body["error"].as_str().unwrap().contains(words));
    }
    let shown: Value = client
        .get(app.url("/api/v1/trials/weekly"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        shown["schedule"], "30 8 * * MON-FRI",
        "a refused change saves nothing"
    );
    assert_eq!(shown["next_runs"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_slot_gets_one_round_across_ticks_and_a_restart() {
    let app = spawn_app().await;
    let (trial, _) = weekly_trial(&app, "weekly", false, 4, "a.example.org").await;
    assert_eq!(
        tick_at(&app.store, &app, saved_at()).await.rounds_created,
        0
    );
    assert_eq!(
        tick_at(&app.store, &app, first_slot() - Duration::seconds(1))
            .await
            .rounds_created,
        0,
        "nothing before the slot"
    );
    let report = tick_at(&app.store, &app, first_slot()).await;
    assert_eq!((report.rounds_created, report.rounds_published), (1, 0));
    let again = tick_at(&app.store, &app, first_slot() + Duration::minutes(1)).await;
    assert_eq!(again.rounds_created, 0);

    // A second instance of the service on the same database, as after a restart.
    let url = app._db.url();
    let restarted = spawn_app_with(|s| s.database_url = DatabaseUrl::parse(&url).unwrap()).await;
    let report = tick_at(&restarted.store, &app, first_slot() + Duration::minutes(2)).await;
    assert_eq!(report.rounds_created, 0);

    let rounds = app.store.list_rounds(trial.id).await.unwrap();
    assert_eq!(rounds.len(), 1);
    assert_eq!(rounds[0].kind.as_str(), "scheduled");
    assert_eq!(
        rounds[0].state.as_str(),
        "draft",
        "the trial keeps rounds for approval"
    );
    assert_eq!(rounds[0].slot, Some(first_slot()));
    assert!(emails(&app, "pairing", "a.example.org").await.is_empty());
}

#[tokio::test]
async fn after_downtime_only_the_latest_missed_slot_runs() {
    // The scheduler turns only when this test turns it, at the times it names.
    let app = spawn_app_without_loops().await;
    let (trial, _) = weekly_trial(&app, "weekly", false, 4, "a.example.org").await;
    let ticked = &app;
    let rounds_created = |now: DateTime<Utc>| async move {
        let (report, _) = ticked.tick_scheduler(now).await;
        assert_eq!(report.failures, 0, "no trial failed");
        report.rounds_created
    };
    assert_eq!(rounds_created(first_slot()).await, 1);
    // Down for three weeks: three slots passed, one round is made, for the latest.
    let back = first_slot() + Duration::weeks(3) + Duration::hours(5);
    assert_eq!(rounds_created(back).await, 1);
    assert_eq!(rounds_created(back + Duration::minutes(1)).await, 0);
    let rounds = app.store.list_rounds(trial.id).await.unwrap();
    assert_eq!(rounds.len(), 2);
    let mut slots: Vec<_> = rounds.iter().filter_map(|r| r.slot).collect();
    slots.sort();
    assert_eq!(slots, [first_slot(), first_slot() + Duration::weeks(3)]);
}

// Two worker threads, so that the two ticks really run at the same time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_ticking_at_once_make_one_round_and_one_set_of_emails() {
    let app = spawn_app().await;
    let (trial, _) = weekly_trial(&app, "weekly", true, 6, "a.example.org").await;
    // A second connection pool to the same database (the same file on SQLite).
    let other = Store::connect(&DatabaseUrl::parse(&app._db.url()).unwrap())
        .await
        .unwrap();

    let notice_time = first_slot() - Duration::hours(24);
    let (a, b) = tokio::join!(
        tick_at(&app.store, &app, notice_time),
        tick_at(&other, &app, notice_time)
    );
    assert_eq!(a.notices + b.notices, 1, "one of them sends the notice");
    assert_eq!(a.notice_emails + b.notice_emails, 6);
    assert_eq!(emails(&app, "round_notice", "a.example.org").await.len(), 6);

    let (a, b) = tokio::join!(
        tick_at(&app.store, &app, first_slot()),
        tick_at(&other, &app, first_slot())
    );
    assert_eq!(a.rounds_created + b.rounds_created, 1);
    assert_eq!(a.rounds_published + b.rounds_published, 1);
    assert_eq!(app.store.list_rounds(trial.id).await.unwrap().len(), 1);
    let pairing = emails(&app, "pairing", "a.example.org").await;
    assert_eq!(pairing.len(), 6, "one pairing email each");
    let mut addresses: Vec<_> = pairing.iter().map(|(to, _)| to.clone()).collect();
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses.len(), 6);
    other.close().await;
}

#[tokio::test]
async fn auto_publish_publishes_with_pairing_emails_and_otherwise_a_draft_waits() {
    let app = spawn_app().await;
    let (auto, _) = weekly_trial(&app, "auto", true, 4, "auto.example.org").await;
    let (manual, _) = weekly_trial(&app, "manual", false, 4, "manual.example.org").await;
    let report = tick_at(&app.store, &app, first_slot() + Duration::seconds(20)).await;
    assert_eq!((report.rounds_created, report.rounds_published), (2, 1));

    let auto_rounds = app.store.list_rounds(auto.id).await.unwrap();
    assert_eq!(auto_rounds[0].state.as_str(), "published");
    assert_eq!(emails(&app, "pairing", "auto.example.org").await.len(), 4);

    let manual_rounds = app.store.list_rounds(manual.id).await.unwrap();
    assert_eq!(manual_rounds[0].state.as_str(), "draft");
    assert!(emails(&app, "pairing", "manual.example.org")
        .await
        .is_empty());
    // Ticking on leaves the draft for the organiser.
    tick_at(&app.store, &app, first_slot() + Duration::hours(1)).await;
    let manual_rounds = app.store.list_rounds(manual.id).await.unwrap();
    assert_eq!(manual_rounds.len(), 1);
    assert_eq!(manual_rounds[0].state.as_str(), "draft");
}

#[tokio::test]
async fn the_notice_goes_once_and_its_skip_link_keeps_a_person_out_of_that_round() {
    let app = spawn_app().await;
    let (trial, ids) = weekly_trial(&app, "weekly", true, 5, "a.example.org").await;
    // Someone who has not confirmed and someone paused until further notice get no notice.
    let mut tx = app.store.pool().begin().await.unwrap();
    for (name, state) in [
        ("pending", MembershipState::Pending),
        ("paused", MembershipState::Paused),
    ] {
        let person = ParticipantInput {
            name: name.into(),
            email: format!("{name}@a.example.org"),
            ..Default::default()
        };
        let details = ParticipantDetails::parse(&person, &[]).unwrap();
        add_member(&mut tx, trial.id, &details, state, None, saved_at())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let early = tick_at(&app.store, &app, first_slot() - Duration::hours(49)).await;
    assert_eq!(early.notices, 0, "48 hours of notice, not 49");
    let report = tick_at(&app.store, &app, first_slot() - Duration::hours(47)).await;
    assert_eq!((report.notices, report.notice_emails), (1, 5));
    let later = tick_at(&app.store, &app, first_slot() - Duration::hours(46)).await;
    assert_eq!(later.notices, 0, "once per slot");
    let notices = emails(&app, "round_notice", "a.example.org").await;
    assert_eq!(notices.len(), 5);

    let (_, body) = notices
        .iter()
        .find(|(to, _)| to == "p0@a.example.org")
        .unwrap();
    assert!(body.contains("Monday 7 January 2030, 09:00 (UTC)"));
    let start = body.find("/s/").expect("a skip link");
    let path: String = body[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();

    // Following the link changes nothing.
    let visitor = app.anonymous_client();
    let page = visitor.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Skip the round on"));
    let member = app.store.find_member_by_id(ids[0]).await.unwrap().unwrap();
    assert!(!member.skip_next_round, "a GET changes nothing");

    // The button does.
    let done = visitor
        .post(app.url(&path))
        .form(&[("csrf_token", csrf_from(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        done.status().as_u16(),
        303,
        "then a page of its own to reload"
    );
    let next = done.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(next, format!("{path}?done=skipped"));
    let html = visitor
        .get(app.url(&next))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"skipped\""));
    let member = app.store.find_member_by_id(ids[0]).await.unwrap().unwrap();
    assert!(member.skip_next_round);

    let report = tick_at(&app.store, &app, first_slot()).await;
    assert_eq!(report.rounds_published, 1);
    let round = &app.store.list_rounds(trial.id).await.unwrap()[0];
    let members = app.store.round_members(round.id).await.unwrap();
    assert_eq!(members.len(), 4, "the other four are paired");
    assert!(members.iter().all(|m| m.membership_id != ids[0]));
    let pairing = emails(&app, "pairing", "a.example.org").await;
    assert!(pairing.iter().all(|(to, _)| to != "p0@a.example.org"));
    let member = app.store.find_member_by_id(ids[0]).await.unwrap().unwrap();
    assert!(!member.skip_next_round, "back in for the round after");

    // The round has started: the link has done its job. (The real clock is before 2030, so
    // the link is checked through the store with a later `now`.)
    let gone = coffee_trials::app::participants::member_by_link(
        &app.store,
        coffee_trials::store::signup::LinkPurpose::Skip,
        path.trim_start_matches("/s/"),
        first_slot() + Duration::seconds(1),
    )
    .await
    .unwrap();
    assert!(
        gone.is_none(),
        "the skip link expires when its round starts"
    );
}

/// The loop inside `serve` (here every 50 ms) does what `tick` does, with the real clock: a
/// slot an hour ago gets its round, and a round published eight days ago gets its feedback emails.
#[tokio::test]
async fn the_background_loop_runs_due_rounds_and_feedback() {
    let app = spawn_app_with(|s| s.scheduler_interval = std::time::Duration::from_millis(50)).await;
    let now = Utc::now();
    let hour_ago = now - Duration::hours(1);
    let input = TrialInput {
        name: "Loop".into(),
        slug: "loop".into(),
        schedule: hour_ago.format("%M %H * * *").to_string(),
        auto_publish: true,
        ..Default::default()
    };
    let scheduled = app
        .store
        .create_trial(
            &TrialSettings::try_from(&input).unwrap(),
            now - Duration::days(2),
        )
        .await
        .unwrap();
    let input = TrialInput {
        name: "Earlier".into(),
        slug: "earlier".into(),
        ..Default::default()
    };
    let manual = app
        .store
        .create_trial(
            &TrialSettings::try_from(&input).unwrap(),
            now - Duration::days(9),
        )
        .await
        .unwrap();
    let mut tx = app.store.pool().begin().await.unwrap();
    for (trial, domain) in [(&scheduled, "loop.example"), (&manual, "earlier.example")] {
        for i in 0..4 {
            let person = ParticipantInput {
                name: format!("Person {i}"),
                email: format!("p{i}@{domain}"),
                ..Default::default()
            };
            let details = ParticipantDetails::parse(&person, &[]).unwrap();
            let joined = now - Duration::days(9);
            add_member(
                &mut tx,
                trial.id,
                &details,
                MembershipState::Active,
                Some(joined),
                joined,
            )
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
    let eight_days_ago = now - Duration::days(8);
    let draft = coffee_trials::app::rounds::propose(
        &app.store,
        &manual,
        coffee_trials::domain::RoundKind::Manual,
        None,
        1,
        eight_days_ago,
    )
    .await
    .unwrap()
    .unwrap();
    coffee_trials::app::rounds::publish(
        &app.store,
        &manual,
        draft.round.id,
        &base_url(&app),
        eight_days_ago,
    )
    .await
    .unwrap();

    let mut waited = 0;
    loop {
        let rounds = app.store.list_rounds(scheduled.id).await.unwrap();
        let feedback = emails(&app, "feedback", "earlier.example").await;
        if !rounds.is_empty() && feedback.len() == 4 {
            assert_eq!(rounds.len(), 1);
            assert!(!rounds[0].is_draft(), "the trial publishes automatically");
            assert_eq!(emails(&app, "pairing", "loop.example").await.len(), 4);
            break;
        }
        waited += 1;
        assert!(
            waited < 400,
            "the loop did nothing within 20 s: {} rounds, {} feedback emails",
            rounds.len(),
            feedback.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_slot_with_nobody_to_pair_records_no_round_and_waits_for_people() {
    let app = spawn_app().await;
    let (trial, _) = weekly_trial(&app, "lonely", true, 1, "lonely.example").await;
    tick_at(&app.store, &app, first_slot() + Duration::minutes(1)).await;
    assert!(app.store.list_rounds(trial.id).await.unwrap().is_empty());

    let mut tx = app.store.pool().begin().await.unwrap();
    let details = ParticipantDetails::parse(
        &ParticipantInput {
            name: "Late Comer".into(),
            email: "late@lonely.example".into(),
            ..Default::default()
        },
        &[],
    )
    .unwrap();
    add_member(
        &mut tx,
        trial.id,
        &details,
        MembershipState::Active,
        Some(saved_at()),
        saved_at(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    tick_at(&app.store, &app, first_slot() + Duration::minutes(2)).await;
    let rounds = app.store.list_rounds(trial.id).await.unwrap();
    assert_eq!(rounds.len(), 1);
    assert_eq!(
        rounds[0]
            .slot
            .map(coffee_trials::store::time::to_db)
            .as_deref()
            .map(|s| &s[..16]),
        Some("2030-01-07T09:00")
    );
}

#[tokio::test]
async fn a_discarded_scheduled_draft_is_not_drawn_up_again() {
    let app = spawn_app().await;
    let (trial, _) = weekly_trial(&app, "approve", false, 4, "approve.example.org").await;
    tick_at(&app.store, &app, first_slot() + Duration::minutes(1)).await;
    assert_eq!(app.store.list_rounds(trial.id).await.unwrap().len(), 1);

    app.sign_up_first_organiser().await;
    let discarded = app
        .submit(
            "/admin/trials/approve/rounds/1",
            "/admin/trials/approve/rounds/1/discard",
            &[],
        )
        .await;
    assert_eq!(discarded.status().as_u16(), 303);
    assert!(app.store.list_rounds(trial.id).await.unwrap().is_empty());

    tick_at(&app.store, &app, first_slot() + Duration::minutes(2)).await;
    assert!(
        app.store.list_rounds(trial.id).await.unwrap().is_empty(),
        "the discarded slot stays discarded"
    );
    // The next slot runs as usual.
    tick_at(&app.store, &app, first_slot() + Duration::weeks(1)).await;
    let rounds = app.store.list_rounds(trial.id).await.unwrap();
    assert_eq!(rounds.len(), 1);
    assert_eq!(
        rounds[0]
            .slot
            .map(coffee_trials::store::time::to_db)
            .as_deref()
            .map(|s| &s[..10]),
        Some("2030-01-14")
    );
}
