//! Feedback links, the feedback and reminder emails, and the ghost rule, with a clock the
//! tests control: rounds are published and `feedback::tick` is called with chosen times.
use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use coffee_trials::app::feedback::{self, FeedbackError};
use coffee_trials::app::rounds;
use coffee_trials::config::DatabaseUrl;
use coffee_trials::domain::{
    MembershipState, ParticipantDetails, ParticipantInput, TrialInput, TrialSettings,
};
use coffee_trials::store::participants::add_member;
use coffee_trials::store::trials::Trial;
use coffee_trials::store::Store;

use crate::helpers::{spawn_app, TestApp};

const DEPARTMENTS: [&str; 3] = ["Nursing", "Pharmacy", "Estates"];
/// Deliberately not the default of 7, so the trial's own setting is what counts.
const DELAY_DAYS: i64 = 5;

fn email(i: usize) -> String {
    format!("p{i}@example.org")
}

/// A trial with `n` active people (p0@... to p{n-1}@...) and a feedback delay of DELAY_DAYS.
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
    sqlx::query("UPDATE trials SET feedback_delay_days = $1 WHERE id = $2")
        .bind(DELAY_DAYS)
        .bind(trial.id)
        .execute(app.store.pool())
        .await
        .unwrap();
    let mut tx = app.store.pool().begin().await.unwrap();
    for i in 0..n {
        let person = ParticipantInput {
            name: format!("Person {i:02}"),
            email: email(i),
            attribute_value: DEPARTMENTS[i % 3].into(),
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
    app.store.trial_by_id(trial.id).await.unwrap().unwrap()
}

fn base(app: &TestApp) -> url::Url {
    url::Url::parse(&app.address).unwrap()
}

/// Proposes and publishes a round at `now`; returns its id.
async fn run_round(app: &TestApp, trial: &Trial, seed: u64, now: DateTime<Utc>) -> i64 {
    let view = rounds::propose(
        &app.store,
        trial,
        coffee_trials::domain::RoundKind::Manual,
        None,
        seed,
        now,
    )
    .await
    .unwrap()
    .expect("a draft");
    let published = rounds::publish(&app.store, trial, view.round.id, &base(app), now)
        .await
        .unwrap();
    assert!(published.newly_published);
    view.round.id
}

async fn tick(app: &TestApp, at: DateTime<Utc>) -> feedback::FeedbackReport {
    feedback::tick(&app.store, &base(app), at).await.unwrap()
}

/// The newest email of `template` to `to`.
async fn last_email(app: &TestApp, template: &str, to: &str) -> String {
    let (body,): (String,) = sqlx::query_as(
        "SELECT body_text FROM outbox WHERE template = $1 AND to_address = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(template)
    .bind(to)
    .fetch_one(app.store.pool())
    .await
    .unwrap_or_else(|e| panic!("no {template} email to {to}: {e}"));
    body
}

async fn count_emails(app: &TestApp, template: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE template = $1")
        .bind(template)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    n
}

/// The 64-character token after `prefix` (such as "/f/") in an email.
fn token_in(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"))
        + prefix.len();
    text[start..start + 64].to_string()
}

async fn membership(app: &TestApp, address: &str) -> (i64, String) {
    sqlx::query_as(
        "SELECT m.id, m.state FROM memberships m JOIN participants p ON p.id = m.participant_id \
         WHERE p.email = $1",
    )
    .bind(address)
    .fetch_one(app.store.pool())
    .await
    .unwrap()
}

type FeedbackRow = (String, Option<i64>, String, i64);

async fn feedback_of(app: &TestApp, address: &str) -> Vec<FeedbackRow> {
    let (id, _) = membership(app, address).await;
    sqlx::query_as(
        "SELECT outcome, rating, takeaway, share_consent FROM feedback WHERE membership_id = $1",
    )
    .bind(id)
    .fetch_all(app.store.pool())
    .await
    .unwrap()
}

async fn feedback_count(app: &TestApp) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM feedback")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    n
}

/// Opens the feedback page with an answer picked and presses that answer's button.
async fn answer_by_http(app: &TestApp, token: &str, answer: &str) -> reqwest::Response {
    app.submit(
        &format!("/f/{token}?answer={answer}"),
        &format!("/f/{token}"),
        &[("answer", answer)],
    )
    .await
}

#[tokio::test]
async fn each_answer_is_recorded_and_the_latest_one_wins() {
    let app = spawn_app().await;
    // Three people make one group of three, where all four answers are offered.
    let trial = trial_with_people(&app, "three", 3).await;
    run_round(&app, &trial, 1, Utc::now()).await;
    let pairing = last_email(&app, "pairing", &email(0)).await;
    let token = token_in(&pairing, "/f/");

    for answer in ["met", "some_met", "not_yet", "could_not_meet"] {
        let page = app.get(&format!("/f/{token}?answer={answer}")).await;
        assert_eq!(page.status().as_u16(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains(&format!("id=\"answer-{answer}\" data-chosen=\"yes\"")),
            "the emailed answer is picked out: {answer}"
        );
        let response = answer_by_http(&app, &token, answer).await;
        assert_eq!(response.status().as_u16(), 303, "{answer}");
        // "Some of us met" asks who met before the details.
        let next = if answer == "some_met" { "who" } else { "more" };
        assert_eq!(
            response.headers()["location"].to_str().unwrap(),
            format!("/f/{token}/{next}")
        );
        let rows = feedback_of(&app, &email(0)).await;
        assert_eq!(rows.len(), 1, "one answer per person and group");
        assert_eq!(rows[0].0, answer, "the latest answer wins");
    }
    assert_eq!(
        feedback_count(&app).await,
        1,
        "nobody else's answer changed"
    );

    // Answering the same thing twice changes nothing.
    answer_by_http(&app, &token, "met").await;
    answer_by_http(&app, &token, "met").await;
    assert_eq!(feedback_of(&app, &email(0)).await[0].0, "met");

    // An answer that is not one of ours is refused at the field.
    let bad = answer_by_http(&app, &token, "maybe").await;
    assert_eq!(bad.status().as_u16(), 422);
    assert!(bad.text().await.unwrap().contains("id=\"answer-error\""));
    assert_eq!(feedback_of(&app, &email(0)).await[0].0, "met");
}

#[tokio::test]
async fn a_pair_is_not_offered_some_of_us_met() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "pair", 2).await;
    run_round(&app, &trial, 1, Utc::now()).await;
    let token = token_in(&last_email(&app, "pairing", &email(0)).await, "/f/");
    let html = app.get_html(&format!("/f/{token}")).await;
    assert!(html.contains("answer-met") && html.contains("answer-could_not_meet"));
    assert!(!html.contains("answer-some_met"));
    let response = answer_by_http(&app, &token, "some_met").await;
    assert_eq!(response.status().as_u16(), 422);
    assert_eq!(feedback_count(&app).await, 0);
}

#[tokio::test]
async fn opening_a_link_records_nothing() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "scanned", 2).await;
    run_round(&app, &trial, 1, Utc::now()).await;
    let token = token_in(&last_email(&app, "pairing", &email(0)).await, "/f/");
    for answer in ["met", "not_yet", "could_not_meet", "some_met", ""] {
        let page = app.get(&format!("/f/{token}?answer={answer}")).await;
        assert_eq!(page.status().as_u16(), 200);
    }
    // The details page without an answer sends people to the question.
    let more = app.get(&format!("/f/{token}/more")).await;
    assert_eq!(more.status().as_u16(), 303);
    assert_eq!(feedback_count(&app).await, 0, "GET never records an answer");
}

#[tokio::test]
async fn expired_foreign_erased_and_made_up_links_no_longer_work() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "gone", 4).await;
    // Published long enough ago that its feedback links have expired by now.
    let long_ago = Utc::now() - Duration::days(coffee_trials::links::FEEDBACK_LINK_DAYS + 1);
    run_round(&app, &trial, 1, long_ago).await;
    let old = last_email(&app, "pairing", &email(0)).await;
    let expired = token_in(&old, "/f/");
    let manage = token_in(&old, "/m/");

    run_round(&app, &trial, 2, Utc::now()).await;
    let current = last_email(&app, "pairing", &email(1)).await;
    let live = token_in(&current, "/f/");

    let made_up = "0".repeat(64);
    for token in [
        expired.as_str(),
        manage.as_str(),
        made_up.as_str(),
        "not-a-token",
    ] {
        let page = app.get(&format!("/f/{token}?answer=met")).await;
        assert_eq!(page.status().as_u16(), 410, "GET {token}");
        assert!(page.text().await.unwrap().contains("no longer works"));
        // The POST needs a page with a form for its CSRF token; a live one serves.
        let response = app
            .submit(
                &format!("/f/{live}"),
                &format!("/f/{token}"),
                &[("answer", "met")],
            )
            .await;
        assert_eq!(response.status().as_u16(), 410, "POST {token}");
        let details = app
            .submit(
                &format!("/f/{live}"),
                &format!("/f/{token}/more"),
                &[("rating", "5")],
            )
            .await;
        assert_eq!(details.status().as_u16(), 410, "POST details {token}");
    }
    // A feedback link is no "still in?" link.
    assert_eq!(
        app.get(&format!("/still-in/{live}"))
            .await
            .status()
            .as_u16(),
        410
    );
    assert!(matches!(
        feedback::answer(
            &app.store,
            &live,
            "met",
            Utc::now() + Duration::days(coffee_trials::links::FEEDBACK_LINK_DAYS + 1)
        )
        .await,
        Err(FeedbackError::Gone)
    ));
    assert_eq!(feedback_count(&app).await, 0, "nothing was recorded");

    // Once the person's data is deleted, their links stop working too.
    let member = app
        .store
        .find_member_by_id(membership(&app, &email(1)).await.0)
        .await
        .unwrap()
        .unwrap();
    coffee_trials::app::participants::erase(&app.store, &member, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        app.get(&format!("/f/{live}")).await.status().as_u16(),
        410,
        "erased"
    );
}

#[tokio::test]
async fn the_details_page_saves_a_rating_and_takeaway_and_refuses_a_bad_rating() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "details", 2).await;
    run_round(&app, &trial, 1, Utc::now()).await;
    let token = token_in(&last_email(&app, "pairing", &email(0)).await, "/f/");
    answer_by_http(&app, &token, "met").await;
    let more = format!("/f/{token}/more");
    let page = app.get(&more).await;
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("We met"));

    let bad = app
        .submit(
            &more,
            &more,
            &[
                ("rating", "7"),
                ("takeaway", "Tea & <b>questions</b>"),
                ("share", "yes"),
            ],
        )
        .await;
    assert_eq!(bad.status().as_u16(), 422);
    let html = bad.text().await.unwrap();
    assert!(html.contains("id=\"rating-error\""), "{html}");
    assert!(html.contains("value=\"7\""), "the typed rating is kept");
    assert!(
        html.contains("questions") && !html.contains("<b>questions"),
        "the takeaway is kept, escaped"
    );
    assert!(html.contains("name=\"share\" value=\"yes\" checked"));
    assert_eq!(
        feedback_of(&app, &email(0)).await[0],
        ("met".to_string(), None, String::new(), 0),
        "nothing saved"
    );

    let long = "x".repeat(feedback::MAX_TAKEAWAY_CHARS + 1);
    let too_long = app
        .submit(&more, &more, &[("rating", "3"), ("takeaway", &long)])
        .await;
    assert_eq!(too_long.status().as_u16(), 422);
    assert!(too_long
        .text()
        .await
        .unwrap()
        .contains("id=\"takeaway-error\""));

    let good = app
        .submit(
            &more,
            &more,
            &[
                ("rating", "4"),
                ("takeaway", "Ask the pharmacy first."),
                ("share", "yes"),
            ],
        )
        .await;
    assert_eq!(
        good.status().as_u16(),
        303,
        "then a page of its own to reload"
    );
    assert_eq!(
        good.headers()["location"].to_str().unwrap(),
        format!("{more}?saved=yes")
    );
    assert_eq!(
        feedback_of(&app, &email(0)).await[0],
        (
            "met".to_string(),
            Some(4),
            "Ask the pharmacy first.".into(),
            1
        )
    );
    // Changing the answer keeps the details.
    answer_by_http(&app, &token, "not_yet").await;
    assert_eq!(
        feedback_of(&app, &email(0)).await[0],
        (
            "not_yet".to_string(),
            Some(4),
            "Ask the pharmacy first.".into(),
            1
        )
    );
}

#[tokio::test]
async fn the_feedback_email_goes_once_after_the_delay_and_not_before() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "delay", 4).await;
    let t0 = Utc::now();
    run_round(&app, &trial, 1, t0).await;
    // Someone who answered from the pairing email is not asked again.
    let token = token_in(&last_email(&app, "pairing", &email(3)).await, "/f/");
    feedback::answer(&app.store, &token, "met", t0)
        .await
        .unwrap();

    let report = tick(&app, t0 + Duration::days(DELAY_DAYS) - Duration::minutes(1)).await;
    assert_eq!(report.feedback_emails, 0, "not before the delay");
    assert_eq!(count_emails(&app, "feedback").await, 0);

    // Two instances at once (two connection pools on one database) send each email once.
    let second = Store::connect(&DatabaseUrl::parse(&app._db.url()).unwrap())
        .await
        .unwrap();
    let at = t0 + Duration::days(DELAY_DAYS);
    let base_url = base(&app);
    let (a, b) = tokio::join!(
        feedback::tick(&app.store, &base_url, at),
        feedback::tick(&second, &base_url, at)
    );
    assert_eq!(a.unwrap().feedback_emails + b.unwrap().feedback_emails, 3);
    assert_eq!(count_emails(&app, "feedback").await, 3);
    assert_eq!(
        tick(&app, at + Duration::days(1)).await.feedback_emails,
        0,
        "once"
    );

    let body = last_email(&app, "feedback", &email(0)).await;
    for answer in ["met", "not_yet", "could_not_meet"] {
        assert!(body.contains(&format!("?answer={answer}")), "{answer}");
    }
    assert!(
        !body.contains("?answer=some_met"),
        "pairs are not offered it"
    );
    assert!(body.contains("/techniques/after-action-review"));
    assert!(body.contains("Person 0"), "{body}");
    let recipients: HashSet<String> =
        sqlx::query_as::<_, (String,)>("SELECT to_address FROM outbox WHERE template = 'feedback'")
            .fetch_all(app.store.pool())
            .await
            .unwrap()
            .into_iter()
            .map(|(a,)| a)
            .collect();
    assert!(!recipients.contains(&email(3)));
    // The emailed link works and records the answer.
    let emailed = token_in(&body, "/f/");
    let response = answer_by_http(&app, &emailed, "could_not_meet").await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(feedback_of(&app, &email(0)).await[0].0, "could_not_meet");
}

#[tokio::test]
async fn not_yet_is_asked_again_once() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "again", 2).await;
    let t0 = Utc::now();
    run_round(&app, &trial, 1, t0).await;
    let sent_at = t0 + Duration::days(DELAY_DAYS);
    assert_eq!(tick(&app, sent_at).await.feedback_emails, 2);
    let token = token_in(&last_email(&app, "feedback", &email(0)).await, "/f/");
    let answered_at = sent_at + Duration::hours(1);
    feedback::answer(&app.store, &token, "not_yet", answered_at)
        .await
        .unwrap();
    // Person 1 says they met: never asked again.
    let other = token_in(&last_email(&app, "feedback", &email(1)).await, "/f/");
    feedback::answer(&app.store, &other, "met", answered_at)
        .await
        .unwrap();

    let early = answered_at + Duration::days(feedback::REASK_AFTER_DAYS) - Duration::minutes(1);
    assert_eq!(tick(&app, early).await.asked_again, 0);
    let due = answered_at + Duration::days(feedback::REASK_AFTER_DAYS);
    assert_eq!(tick(&app, due).await.asked_again, 1);
    assert_eq!(tick(&app, due).await.asked_again, 0);
    let again = last_email(&app, "feedback_again", &email(0)).await;
    let fresh = token_in(&again, "/f/");
    assert_ne!(fresh, token, "the reminder brings fresh links");
    assert!(again.contains("?answer=met"));

    // "Not yet" a second time: never a second reminder.
    feedback::answer(&app.store, &fresh, "not_yet", due + Duration::hours(1))
        .await
        .unwrap();
    tick(&app, due + Duration::days(20)).await;
    assert_eq!(count_emails(&app, "feedback_again").await, 1);
    assert_eq!(feedback_of(&app, &email(0)).await.len(), 1);
}

#[tokio::test]
async fn three_silent_rounds_bring_one_still_in_email_then_silence_pauses_and_stay_resets() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "ghosts", 4).await;
    let t0 = Utc::now();
    let week = Duration::days(7);
    // Three weekly rounds; each one's feedback email goes out DELAY_DAYS later.
    for n in 0..3 {
        run_round(&app, &trial, n + 1, t0 + week * n as i32).await;
        tick(&app, t0 + week * n as i32 + Duration::days(DELAY_DAYS)).await;
    }
    assert_eq!(count_emails(&app, "feedback").await, 12);
    // Person 0 answered round 2's email, so their run of silence is one email long.
    let (p0, _) = membership(&app, &email(0)).await;
    let (group_2,): (i64,) = sqlx::query_as(
        "SELECT g.id FROM round_groups g JOIN rounds r ON r.id = g.round_id \
         JOIN round_group_members gm ON gm.group_id = g.id \
         WHERE r.number = 2 AND gm.membership_id = $1",
    )
    .bind(p0)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    app.store
        .upsert_feedback_answer(group_2, p0, "met", t0 + week)
        .await
        .unwrap();

    let third_sent = t0 + week * 2 + Duration::days(DELAY_DAYS);
    assert_eq!(
        tick(&app, third_sent + Duration::days(1))
            .await
            .still_in_emails,
        0,
        "the third email gets a few days for an answer"
    );
    let ask_at = third_sent + Duration::days(feedback::ANSWER_GRACE_DAYS);
    assert_eq!(tick(&app, ask_at).await.still_in_emails, 3);
    assert_eq!(
        tick(&app, ask_at + Duration::hours(1))
            .await
            .still_in_emails,
        0
    );
    let addressed: HashSet<String> =
        sqlx::query_as::<_, (String,)>("SELECT to_address FROM outbox WHERE template = 'still_in'")
            .fetch_all(app.store.pool())
            .await
            .unwrap()
            .into_iter()
            .map(|(a,)| a)
            .collect();
    assert_eq!(
        addressed,
        [email(1), email(2), email(3)].into_iter().collect(),
        "not person 0, who answered"
    );

    // Person 1 stays, through the page (GET changes nothing, the button does).
    let still_in = last_email(&app, "still_in", &email(1)).await;
    assert!(still_in.contains("?choice=pause") && still_in.contains("?choice=leave"));
    let token = token_in(&still_in, "/still-in/");
    let page = app.get(&format!("/still-in/{token}?choice=leave")).await;
    assert_eq!(page.status().as_u16(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("id=\"choice-leave\" data-chosen=\"yes\""));
    assert_eq!(membership(&app, &email(1)).await.1, "active");
    let stayed = app
        .submit(
            &format!("/still-in/{token}?choice=stay"),
            &format!("/still-in/{token}"),
            &[("choice", "stay")],
        )
        .await;
    assert_eq!(
        stayed.status().as_u16(),
        303,
        "then a page of its own to reload"
    );
    let done = stayed.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(done, format!("/still-in/{token}?done=stay"));
    assert!(app.get_html(&done).await.contains("Good to have you"));
    // Person 3 leaves.
    let leave_token = token_in(&last_email(&app, "still_in", &email(3)).await, "/still-in/");
    let left = app
        .submit(
            &format!("/still-in/{leave_token}"),
            &format!("/still-in/{leave_token}"),
            &[("choice", "leave")],
        )
        .await;
    assert_eq!(left.status().as_u16(), 303);
    let done = left.headers()["location"].to_str().unwrap().to_string();
    assert!(app.get_html(&done).await.contains("You have left"));
    assert_eq!(membership(&app, &email(3)).await.1, "left");

    // Person 2 says nothing: paused after the wait, not before; nobody is deleted.
    let wait = Duration::days(feedback::STILL_IN_WAIT_DAYS);
    assert_eq!(
        tick(&app, ask_at + wait - Duration::minutes(1))
            .await
            .paused,
        0
    );
    assert_eq!(tick(&app, ask_at + wait).await.paused, 1);
    assert_eq!(membership(&app, &email(2)).await.1, "paused");
    assert_eq!(membership(&app, &email(1)).await.1, "active");
    let (people,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE trial_id = $1")
        .bind(trial.id)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert_eq!(people, 4);

    // The paused person is left out of the next round.
    let r4_at = ask_at + wait + Duration::hours(1);
    let r4 = run_round(&app, &trial, 4, r4_at).await;
    let in_r4: HashSet<i64> = app
        .store
        .round_members(r4)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.membership_id)
        .collect();
    assert!(!in_r4.contains(&membership(&app, &email(2)).await.0));

    // "Stay" started a new count: one more silent round is not a run of three.
    tick(&app, r4_at + Duration::days(DELAY_DAYS)).await;
    tick(&app, r4_at + Duration::days(DELAY_DAYS + 10)).await;
    let (to_p1,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM outbox WHERE template = 'still_in' AND to_address = $1",
    )
    .bind(email(1))
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    assert_eq!(to_p1, 1);

    // A late "stay" brings the paused person back.
    let late = token_in(&last_email(&app, "still_in", &email(2)).await, "/still-in/");
    let back = app
        .submit(
            &format!("/still-in/{late}"),
            &format!("/still-in/{late}"),
            &[("choice", "stay")],
        )
        .await;
    assert_eq!(back.status().as_u16(), 303);
    assert_eq!(membership(&app, &email(2)).await.1, "active");
}

#[tokio::test]
async fn a_pair_that_could_not_meet_may_be_paired_again() {
    let app = spawn_app().await;
    // Four people have exactly three repeat-free rounds; after them every pair has met.
    let trial = trial_with_people(&app, "again-pair", 4).await;
    let t0 = Utc::now();
    let first = run_round(&app, &trial, 1, t0).await;
    run_round(&app, &trial, 2, t0 + Duration::days(7)).await;
    run_round(&app, &trial, 3, t0 + Duration::days(14)).await;
    let members = app.store.round_members(first).await.unwrap();
    let group = members[0].group_id;
    let pair: HashSet<i64> = members
        .iter()
        .filter(|m| m.group_id == group)
        .map(|m| m.membership_id)
        .collect();
    assert_eq!(pair.len(), 2);
    for id in &pair {
        app.store
            .upsert_feedback_answer(group, *id, "could_not_meet", t0 + Duration::days(1))
            .await
            .unwrap();
    }
    let history = app.store.round_history(trial.id).await.unwrap();
    for row in &history {
        let expected = i64::from(row.group_id == group);
        assert_eq!(i64::from(!row.met), expected, "round {}", row.round_number);
    }
    // The one pair that never met is theirs, so the fourth round brings them together.
    let fourth = run_round(&app, &trial, 4, t0 + Duration::days(21)).await;
    let groups: Vec<HashSet<i64>> = {
        let members = app.store.round_members(fourth).await.unwrap();
        let mut ids: Vec<i64> = members.iter().map(|m| m.group_id).collect();
        ids.dedup();
        ids.iter()
            .map(|g| {
                members
                    .iter()
                    .filter(|m| m.group_id == *g)
                    .map(|m| m.membership_id)
                    .collect()
            })
            .collect()
    };
    assert!(groups.contains(&pair), "{groups:?} should contain {pair:?}");

    // One "we met" in the group outweighs "we couldn't meet".
    let one = *pair.iter().next().unwrap();
    app.store
        .upsert_feedback_answer(group, one, "met", t0 + Duration::days(2))
        .await
        .unwrap();
    let history = app.store.round_history(trial.id).await.unwrap();
    assert!(history.iter().all(|r| r.met));
}

/// A "still in?" request and its link for the first member of `round_id`'s first group,
/// written as `ask_still_in` writes them; returns the membership and the token.
async fn still_in_link(app: &TestApp, round_id: i64, now: DateTime<Utc>) -> (i64, String) {
    use coffee_trials::store::feedback::{claim_still_in, insert_group_token};
    use coffee_trials::store::signup::LinkPurpose;
    let member = app.store.round_members(round_id).await.unwrap()[0].clone();
    let token = coffee_trials::tokens::new_token();
    let mut tx = app.store.pool().begin().await.unwrap();
    assert!(
        claim_still_in(&mut tx, member.membership_id, member.group_id, now)
            .await
            .unwrap()
    );
    insert_group_token(
        &mut tx,
        LinkPurpose::StillIn,
        member.membership_id,
        member.group_id,
        &coffee_trials::tokens::hash_token(&token),
        now,
        now + Duration::days(coffee_trials::links::FEEDBACK_LINK_DAYS),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (member.membership_id, token)
}

async fn still_in_answer(app: &TestApp, membership_id: i64) -> Option<String> {
    let (answer,): (Option<String>,) =
        sqlx::query_as("SELECT answer FROM still_in_requests WHERE membership_id = $1")
            .bind(membership_id)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    answer
}

#[tokio::test]
async fn still_in_from_someone_who_has_left_is_refused_at_the_field_and_changes_nothing() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "left", 2).await;
    let round = run_round(&app, &trial, 1, Utc::now()).await;
    let (membership_id, token) = still_in_link(&app, round, Utc::now()).await;
    let member = app
        .store
        .find_member_by_id(membership_id)
        .await
        .unwrap()
        .unwrap();
    coffee_trials::app::participants::leave(&app.store, &member, Utc::now())
        .await
        .unwrap();

    let page = format!("/still-in/{token}");
    for choice in ["stay", "pause"] {
        let refused = app.submit(&page, &page, &[("choice", choice)]).await;
        assert_eq!(refused.status().as_u16(), 422, "{choice}");
        let html = refused.text().await.unwrap();
        assert!(
            html.contains("id=\"choice-error\"") && html.contains("Join again"),
            "the reason is shown at the buttons ({choice}): {html}"
        );
        let (_, state) =
            sqlx::query_as::<_, (i64, String)>("SELECT id, state FROM memberships WHERE id = $1")
                .bind(membership_id)
                .fetch_one(app.store.pool())
                .await
                .unwrap();
        assert_eq!(state, "left", "{choice}");
        assert_eq!(
            still_in_answer(&app, membership_id).await,
            None,
            "a refused answer is not recorded ({choice})"
        );
    }
    // Leaving again is no error, and is recorded.
    let left = app.submit(&page, &page, &[("choice", "leave")]).await;
    assert_eq!(left.status().as_u16(), 303);
    assert_eq!(
        still_in_answer(&app, membership_id).await.as_deref(),
        Some("leave")
    );
}

#[tokio::test]
async fn a_still_in_answer_and_its_change_are_saved_together() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "together", 2).await;
    let round = run_round(&app, &trial, 1, Utc::now()).await;
    let (membership_id, token) = still_in_link(&app, round, Utc::now()).await;
    let page = format!("/still-in/{token}");
    for (choice, state) in [("pause", "paused"), ("stay", "active"), ("leave", "left")] {
        let response = app.submit(&page, &page, &[("choice", choice)]).await;
        assert_eq!(response.status().as_u16(), 303, "{choice}");
        let (_, now_state) =
            sqlx::query_as::<_, (i64, String)>("SELECT id, state FROM memberships WHERE id = $1")
                .bind(membership_id)
                .fetch_one(app.store.pool())
                .await
                .unwrap();
        assert_eq!(now_state, state);
        assert_eq!(
            still_in_answer(&app, membership_id).await.as_deref(),
            Some(choice)
        );
    }
    // A pause for silence after an answer changes nothing.
    let later = Utc::now() + Duration::days(feedback::STILL_IN_WAIT_DAYS + 1);
    assert_eq!(tick(&app, later).await.paused, 0);
}

#[tokio::test]
async fn a_not_yet_reminder_that_fell_due_long_ago_is_not_sent() {
    let app = spawn_app().await;
    let trial = trial_with_people(&app, "outage", 2).await;
    let t0 = Utc::now();
    run_round(&app, &trial, 1, t0).await;
    let token = token_in(&last_email(&app, "pairing", &email(0)).await, "/f/");
    feedback::answer(&app.store, &token, "not_yet", t0)
        .await
        .unwrap();
    // The service was down from before the reminder was due until long after.
    let back = t0 + Duration::days(feedback::REASK_AFTER_DAYS + feedback::CATCH_UP_DAYS + 1);
    assert_eq!(tick(&app, back).await.asked_again, 0);
    assert_eq!(count_emails(&app, "feedback_again").await, 0);
    // Within the window it is still sent, once.
    let other = token_in(&last_email(&app, "pairing", &email(1)).await, "/f/");
    feedback::answer(&app.store, &other, "not_yet", back)
        .await
        .unwrap();
    let due = back + Duration::days(feedback::REASK_AFTER_DAYS + 2);
    assert_eq!(tick(&app, due).await.asked_again, 1);
    assert_eq!(count_emails(&app, "feedback_again").await, 1);
}
