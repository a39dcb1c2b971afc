//! Rounds, feedback, schedules, the dashboard and events in a real browser (see `browser.rs`
//! for the harness: these tests skip without chromedriver, and fail without it when CI=true).
use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use fantoccini::Locator;
use serde_json::{json, Value};

use crate::browser::{start_browser, Browser};
use crate::helpers::{spawn_app, TestApp, ORGANISER_EMAIL, ORGANISER_PASSWORD};

/// An organiser's JSON API client for setting the scene.
struct Api<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    token: String,
}

impl<'a> Api<'a> {
    /// Creates the first organiser (so the browser can sign in as them) and a token.
    async fn new(app: &'a TestApp) -> Api<'a> {
        let token = app.organiser_token().await;
        Api {
            app,
            client: app.anonymous_client(),
            token,
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.bearer_auth(&self.token).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.client.post(self.app.url(path)).json(&body))
            .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(self.app.url(path))).await
    }

    async fn trial(&self, body: Value) {
        let (status, answer) = self.post("/api/v1/trials", body).await;
        assert_eq!(status, 201, "{answer}");
    }

    /// Adds a confirmed person; returns their public id.
    async fn person(&self, slug: &str, name: &str, department: &str) -> String {
        let email = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
        let (status, person) = self
            .post(
                &format!("/api/v1/trials/{slug}/participants"),
                json!({"name": name, "email": email, "attribute_value": department, "consent": true}),
            )
            .await;
        assert_eq!(status, 201, "{person}");
        person["id"].as_str().unwrap().to_string()
    }

    /// Proposes and publishes round 1; returns its groups as lists of public ids.
    async fn publish_first_round(&self, slug: &str) -> Vec<Vec<String>> {
        let (status, proposed) = self
            .post(
                &format!("/api/v1/trials/{slug}/rounds"),
                json!({"seed": 11}),
            )
            .await;
        assert_eq!(status, 201, "{proposed}");
        let (status, published) = self
            .post(
                &format!("/api/v1/trials/{slug}/rounds/1/publish"),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{published}");
        assert_eq!(published["newly_published"], true);
        let (status, round) = self.get(&format!("/api/v1/trials/{slug}/rounds/1")).await;
        assert_eq!(status, 200);
        round["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                g["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["public_id"].as_str().unwrap().to_string())
                    .collect()
            })
            .collect()
    }
}

/// Signs the browser in through the console's sign-in page.
async fn sign_in(browser: &Browser, app: &TestApp) {
    browser.client.goto(&app.url("/admin/login")).await.unwrap();
    browser.fill("email", ORGANISER_EMAIL).await;
    browser.fill("password", ORGANISER_PASSWORD).await;
    browser.submit_form_of("password").await;
    assert_eq!(browser.path().await, "/admin", "signed in");
}

async fn value_of(browser: &Browser, id: &str) -> String {
    browser
        .client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("field #{id}: {e}"))
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn attr_of(browser: &Browser, id: &str, attribute: &str) -> Option<String> {
    browser
        .client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("element #{id}: {e}"))
        .attr(attribute)
        .await
        .unwrap()
}

/// The newest email of `template` to `to`, as text.
async fn email_text(app: &TestApp, template: &str, to: &str) -> String {
    let (body,): (String,) = sqlx::query_as(
        "SELECT body_text FROM outbox WHERE template = $1 AND to_address = $2 \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(template)
    .bind(to)
    .fetch_one(app.store.pool())
    .await
    .unwrap_or_else(|e| panic!("no {template} email to {to}: {e}"));
    body
}

/// The link in `text` that ends with `ending` (such as "?answer=met").
fn link_ending(text: &str, ending: &str) -> String {
    text.split_whitespace()
        .find(|word| word.starts_with("http") && word.ends_with(ending))
        .unwrap_or_else(|| panic!("no link ending {ending} in:\n{text}"))
        .to_string()
}

type FeedbackRow = (String, Option<i64>, String, i64);

/// Every feedback row of the person with this address.
async fn feedback_of(app: &TestApp, address: &str) -> Vec<FeedbackRow> {
    sqlx::query_as(
        "SELECT f.outcome, f.rating, f.takeaway, f.share_consent FROM feedback f \
         JOIN memberships m ON m.id = f.membership_id \
         JOIN participants p ON p.id = m.participant_id WHERE p.email = $1",
    )
    .bind(address)
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

const ADA: &str = "ada.lovelace@example.org";
const TAKEAWAY: &str = "Pharmacy reviews discharge letters; ask them <early>.";

#[tokio::test]
async fn browser_rounds_feedback_is_given_on_pages_and_the_latest_answer_wins() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    let api = Api::new(&app).await;
    api.trial(json!({"name": "Ward coffee", "slug": "ward-coffee",
        "attribute_name": "Department", "attribute_values": "Nursing\nPharmacy",
        "feedback_delay_days": 3}))
        .await;
    api.person("ward-coffee", "Ada Lovelace", "Nursing").await;
    api.person("ward-coffee", "Bob Brown", "Pharmacy").await;
    api.publish_first_round("ward-coffee").await;

    // The feedback email is due three days after publication, not before.
    let base = url::Url::parse(&app.address).unwrap();
    let early = Utc::now() + Duration::days(2);
    let report = coffee_trials::app::feedback::tick(&app.store, &base, early)
        .await
        .unwrap();
    assert_eq!(report.feedback_emails, 0);
    let later = Utc::now() + Duration::days(3) + Duration::hours(1);
    let report = coffee_trials::app::feedback::tick(&app.store, &base, later)
        .await
        .unwrap();
    assert_eq!(report.feedback_emails, 2, "one for each of the pair");
    let email = email_text(&app, "feedback", ADA).await;

    // Opening the "we met" link shows the question with that answer picked out, and saves
    // nothing: mail scanners open links too.
    let met = link_ending(&email, "?answer=met");
    browser.client.goto(&met).await.unwrap();
    let question = browser.path().await;
    assert!(question.starts_with("/f/"), "{question}");
    assert!(browser.text_of("h1").await.contains("Bob Brown"));
    assert_eq!(
        attr_of(&browser, "answer-met", "data-chosen")
            .await
            .as_deref(),
        Some("yes")
    );
    assert_eq!(
        feedback_count(&app).await,
        0,
        "opening a link records nothing"
    );

    browser.click(Locator::Id("answer-met")).await;
    assert_eq!(browser.path().await, format!("{question}/more"));
    assert_eq!(
        feedback_of(&app, ADA).await,
        [("met".to_string(), None, String::new(), 0)]
    );

    // A rating of 7 does not get past the browser: the field allows 1 to 5.
    browser.fill("rating", "7").await;
    browser.fill("takeaway", TAKEAWAY).await;
    let checks: Value = browser
        .client
        .execute(
            "const f = document.getElementById('rating').form; \
             return [document.getElementById('rating').validity.rangeOverflow, f.checkValidity()];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        checks,
        json!([true, false]),
        "the browser refuses to send 7"
    );
    // A browser that does not check (or someone who edits the page) still meets the server's
    // check: the form comes back with the message at the field and what was typed.
    browser
        .client
        .execute(
            "document.getElementById('rating').form.noValidate = true;",
            vec![],
        )
        .await
        .unwrap();
    browser.click(Locator::Id("save")).await;
    assert!(!browser.text_of("#rating-error").await.is_empty());
    assert_eq!(value_of(&browser, "rating").await, "7");
    assert_eq!(value_of(&browser, "takeaway").await, TAKEAWAY);
    assert_eq!(
        feedback_of(&app, ADA).await,
        [("met".to_string(), None, String::new(), 0)],
        "nothing saved"
    );

    browser.fill("rating", "4").await;
    let share = browser
        .client
        .find(Locator::Css("input[name='share']"))
        .await
        .unwrap();
    assert!(!share.is_selected().await.unwrap());
    share.click().await.unwrap();
    browser.click(Locator::Id("save")).await;
    assert_eq!(browser.text_of("h1").await, "Thank you");
    assert_eq!(
        feedback_of(&app, ADA).await,
        [("met".to_string(), Some(4), TAKEAWAY.to_string(), 1)]
    );

    // The same email's "couldn't meet" link replaces the answer and keeps the notes.
    let could_not = link_ending(&email, "?answer=could_not_meet");
    browser.client.goto(&could_not).await.unwrap();
    assert_eq!(browser.path().await, question, "the same personal link");
    assert_eq!(
        attr_of(&browser, "answer-could_not_meet", "data-chosen")
            .await
            .as_deref(),
        Some("yes")
    );
    assert_eq!(
        feedback_of(&app, ADA).await[0].0,
        "met",
        "opening changes nothing"
    );
    browser.click(Locator::Id("answer-could_not_meet")).await;
    assert_eq!(browser.path().await, format!("{question}/more"));
    assert_eq!(
        feedback_of(&app, ADA).await,
        [(
            "could_not_meet".to_string(),
            Some(4),
            TAKEAWAY.to_string(),
            1
        )],
        "one answer per person, the latest"
    );
    assert_eq!(feedback_count(&app).await, 1, "Bob has not answered");
    browser.client.clone().close().await.unwrap();
}

/// A run as the trial page shows it, e.g. "Monday 7 December 2026, 09:00 (Europe/London)".
fn parse_run(line: &str) -> (NaiveDate, String) {
    let (date, rest) = line
        .split_once(", ")
        .unwrap_or_else(|| panic!("a date and a time: {line}"));
    let date = NaiveDate::parse_from_str(date, "%A %d %B %Y")
        .unwrap_or_else(|e| panic!("a date in {line}: {e}"));
    (date, rest.to_string())
}

#[tokio::test]
async fn browser_rounds_schedule_form_keeps_bad_input_and_lists_the_next_runs() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    let api = Api::new(&app).await;
    api.trial(json!({"name": "Fortnightly", "slug": "fortnightly"}))
        .await;
    sign_in(&browser, &app).await;
    browser
        .client
        .goto(&app.url("/admin/trials/fortnightly"))
        .await
        .unwrap();
    assert!(
        browser.client.find(Locator::Id("next-runs")).await.is_err(),
        "no schedule yet"
    );

    browser
        .fill("schedule", "every second blue moon at teatime")
        .await;
    browser.fill("time_zone", "Europe/London").await;
    browser.submit_form_of("schedule").await;
    assert_eq!(browser.path().await, "/admin/trials/fortnightly");
    assert!(!browser.text_of("#schedule-error").await.is_empty());
    assert!(
        browser
            .client
            .find(Locator::Id("time_zone-error"))
            .await
            .is_err(),
        "only the schedule is at fault"
    );
    assert_eq!(
        value_of(&browser, "schedule").await,
        "every second blue moon at teatime"
    );
    assert_eq!(value_of(&browser, "time_zone").await, "Europe/London");
    let trial = app.store.find_trial("fortnightly").await.unwrap().unwrap();
    assert_eq!((trial.schedule, trial.time_zone.as_str()), (None, "UTC"));

    browser
        .fill("schedule", "every 2 weeks on Monday at 09:00")
        .await;
    browser.submit_form_of("schedule").await;
    assert_eq!(browser.path().await, "/admin/trials/fortnightly");
    assert!(browser.text_of("[role=status]").await.contains("Saved"));
    let mut runs = Vec::new();
    for item in browser
        .client
        .find_all(Locator::Css("#next-runs li"))
        .await
        .unwrap()
    {
        runs.push(parse_run(&item.text().await.unwrap()));
    }
    assert_eq!(runs.len(), 3, "{runs:?}");
    // Fortnights are counted from Monday 1 January 2024, so each run is an even number of
    // weeks after it.
    let origin = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    for (i, (date, time)) in runs.iter().enumerate() {
        assert_eq!(date.weekday(), Weekday::Mon, "{date}");
        assert_eq!(time, "09:00 (Europe/London)");
        assert_eq!((*date - origin).num_days() % 14, 0, "{date}");
        if i > 0 {
            assert_eq!((*date - runs[i - 1].0).num_days(), 14);
        }
    }
    let today = Utc::now().date_naive();
    assert!(runs[0].0 >= today && runs[0].0 <= today + Duration::days(14));
    let trial = app.store.find_trial("fortnightly").await.unwrap().unwrap();
    assert_eq!(
        (trial.schedule.as_deref(), trial.time_zone.as_str()),
        (Some("every 2 weeks on Monday at 09:00"), "Europe/London")
    );
    browser.client.clone().close().await.unwrap();
}

/// Test set-up: one member's answer about their group of round 1, written straight into the
/// table the feedback pages fill (as `dashboard.rs` does).
async fn answer(app: &TestApp, public_id: &str, outcome: &str, rating: Option<i64>) {
    let pool = app.store.pool();
    let (group_id, membership_id): (i64, i64) = sqlx::query_as(
        "SELECT g.id, m.id FROM round_groups g JOIN rounds r ON r.id = g.round_id \
         JOIN round_group_members gm ON gm.group_id = g.id \
         JOIN memberships m ON m.id = gm.membership_id \
         WHERE r.number = 1 AND m.public_id = $1",
    )
    .bind(public_id)
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO feedback (group_id, membership_id, outcome, rating, takeaway, share_consent, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, '', 0, $5, $5)",
    )
    .bind(group_id)
    .bind(membership_id)
    .bind(outcome)
    .bind(rating)
    .bind(coffee_trials::store::time::to_db(Utc::now()))
    .execute(pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn browser_rounds_dashboard_draws_its_charts_as_svg_with_text_labels() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    let api = Api::new(&app).await;
    api.trial(
        json!({"name": "Wards", "slug": "wards", "attribute_name": "Department",
        "attribute_values": "Nursing\nPharmacy"}),
    )
    .await;
    for (name, department) in [
        ("Ada Lovelace", "Nursing"),
        ("Alan Turing", "Nursing"),
        ("Grace Hopper", "Pharmacy"),
        ("Edsger Dijkstra", "Pharmacy"),
    ] {
        api.person("wards", name, department).await;
    }
    let groups = api.publish_first_round("wards").await;
    assert_eq!(groups.len(), 2);
    // One group met (rated 5 and 4), the other could not.
    answer(&app, &groups[0][0], "met", Some(5)).await;
    answer(&app, &groups[0][1], "met", Some(4)).await;
    answer(&app, &groups[1][0], "could_not_meet", None).await;

    sign_in(&browser, &app).await;
    browser
        .client
        .goto(&app.url("/admin/trials/wards/dashboard"))
        .await
        .unwrap();
    let charts = browser
        .client
        .find_all(Locator::Css("main svg[role='img']"))
        .await
        .unwrap();
    let mut titles = Vec::new();
    for chart in &charts {
        assert!(chart.is_displayed().await.unwrap());
        let (_, _, width, height) = chart.rectangle().await.unwrap();
        assert!(width > 100.0 && height > 20.0, "{width}x{height}");
        let title = chart.find(Locator::Css("title")).await.unwrap();
        titles.push(title.prop("textContent").await.unwrap().unwrap_or_default());
    }
    assert_eq!(
        titles,
        [
            "Groups that met, by round",
            "Average rating, by round",
            "Who met whom, by Department"
        ]
    );

    // The figures are written as text the browser draws, not only as shapes.
    let mut labels = Vec::new();
    for text in browser
        .client
        .find_all(Locator::Css("main svg text"))
        .await
        .unwrap()
    {
        if text.is_displayed().await.unwrap() {
            labels.push(text.text().await.unwrap());
        }
    }
    for wanted in [
        "Round 1",
        "1 met, 1 did not, 0 no answer (50% met)",
        "4.5 (2 ratings)",
        "Nursing",
        "Pharmacy",
    ] {
        assert!(
            labels.iter().any(|l| l == wanted),
            "{wanted:?} among {labels:?}"
        );
    }
    browser.client.clone().close().await.unwrap();
}

#[tokio::test]
async fn browser_rounds_event_from_poster_to_sign_up_check_in_and_a_quick_round() {
    let Some(phone) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    let api = Api::new(&app).await;
    api.trial(
        json!({"name": "Induction day", "slug": "induction", "kind": "event",
        "event_date": "2026-12-07", "event_place": "Seminar room 2", "event_round_minutes": 7}),
    )
    .await;

    // The poster: a QR code drawn as SVG, and the address in text.
    phone
        .client
        .goto(&app.url("/t/induction/poster"))
        .await
        .unwrap();
    assert_eq!(phone.text_of("h1").await, "Induction day");
    let qr = phone.client.find(Locator::Css("svg")).await.unwrap();
    assert!(qr.is_displayed().await.unwrap());
    let (_, _, width, height) = qr.rectangle().await.unwrap();
    assert!(
        width >= 100.0 && (width - height).abs() < 1.0,
        "{width}x{height}"
    );
    assert!(qr.find(Locator::Css("path")).await.is_ok());
    assert!(phone.text_of(".address").await.ends_with("/t/induction"));

    // Signing up in the room leads straight to the person's own page.
    phone.client.goto(&app.url("/t/induction")).await.unwrap();
    phone.fill("name", "Ada Lovelace").await;
    phone.fill("email", ADA).await;
    phone.fill("attribute_value", "Nursing").await;
    phone
        .client
        .find(Locator::Id("consent"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    phone.submit_form_of("name").await;
    let own_page = phone.path().await;
    assert!(own_page.starts_with("/e/"), "{own_page}");
    assert_eq!(phone.text_of("h1").await, "Hello, Ada Lovelace");
    phone
        .click(Locator::Css("form[action$='/here'] button[type='submit']"))
        .await;
    assert_eq!(phone.path().await, own_page);
    assert!(phone.text_of("#status").await.contains("checked in"));
    assert!(phone.client.find(Locator::Id("waiting")).await.is_ok());

    // A second person signs up and checks in over HTTP.
    let response = app
        .submit(
            "/t/induction",
            "/t/induction",
            &[
                ("name", "Grace Hopper"),
                ("email", "grace.hopper@example.org"),
                ("attribute_value", "Pharmacy"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let grace_page = response.headers()["location"].to_str().unwrap().to_string();
    assert!(grace_page.starts_with("/e/"));
    let here = app
        .submit(&grace_page, &format!("{grace_page}/here"), &[])
        .await;
    assert_eq!(here.status().as_u16(), 303);

    // The organiser runs a quick round from the check-in page in a browser of their own.
    let organiser = start_browser().await.expect("chromedriver is still there");
    sign_in(&organiser, &app).await;
    organiser
        .client
        .goto(&app.url("/admin/trials/induction/event"))
        .await
        .unwrap();
    organiser
        .click(Locator::Css(
            "form[action='/admin/trials/induction/event/rounds'] button[type='submit']",
        ))
        .await;
    assert_eq!(organiser.path().await, "/admin/trials/induction/event");
    assert!(organiser.client.find(Locator::Id("started")).await.is_ok());

    phone.client.refresh().await.unwrap();
    assert_eq!(phone.text_of("#seat .table").await, "Table 1");
    assert_eq!(phone.text_of("#seat .partner").await, "Grace Hopper");

    organiser
        .client
        .goto(&app.url("/admin/trials/induction/display"))
        .await
        .unwrap();
    let pairs = organiser
        .client
        .find_all(Locator::Css("#pairs li"))
        .await
        .unwrap();
    assert_eq!(pairs.len(), 1);
    let table = pairs[0].find(Locator::Css(".table")).await.unwrap();
    // The display shows table labels in capitals through CSS; the text is the same.
    assert_eq!(
        table.prop("textContent").await.unwrap().as_deref(),
        Some("Table 1")
    );
    let names = pairs[0].find(Locator::Css(".names")).await.unwrap();
    let names = names.text().await.unwrap();
    assert!(
        names.contains("Ada Lovelace") && names.contains("Grace Hopper"),
        "{names}"
    );
    organiser.client.clone().close().await.unwrap();
    phone.client.clone().close().await.unwrap();
}
