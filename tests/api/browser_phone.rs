//! Every page an organiser or participant opens, on a 390 px wide phone: the page itself never
//! scrolls sideways (a wide table may scroll inside its own box). See `browser.rs` for the
//! harness: skipped without chromedriver, a failure without it when CI=true.
use serde_json::{json, Value};

use crate::browser::{start_browser, Browser};
use crate::helpers::{spawn_app_without_loops, TestApp, ORGANISER_EMAIL, ORGANISER_PASSWORD};
use crate::route_table::CONSOLE;

const PHONE_WIDTH: u32 = 390;
const PHONE_HEIGHT: u32 = 844;

async fn api(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let response = app
        .anonymous_client()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert!((200..300).contains(&status), "{path}: {status} {answer}");
    answer
}

/// How much wider than the viewport the page is (0 when it fits).
async fn overflow(browser: &Browser) -> (i64, i64) {
    let widths = browser
        .client
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap())
}

#[tokio::test]
async fn no_page_is_wider_than_a_phone() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let app = spawn_app_without_loops().await;
    let token = app.organiser_token().await;

    // A programme with long names and addresses, a published round, and an event.
    api(
        &app,
        &token,
        "/api/v1/trials",
        json!({"name": "Lunch and learn across the whole organisation, every fortnight",
               "slug": "ward", "attribute_name": "Department"}),
    )
    .await;
    let mut public_id = String::new();
    for (i, department) in [
        "Paediatric intensive care outreach",
        "Estates",
        "Finance",
        "Research and development",
    ]
    .iter()
    .enumerate()
    {
        let person = api(
            &app,
            &token,
            "/api/v1/trials/ward/participants",
            json!({"name": format!("Maximiliana Featherstonehaugh-Cholmondeley {i}"),
                   "email": format!("maximiliana.featherstonehaugh-cholmondeley.{i}@very-long-hospital-trust-name.nhs.example.org"),
                   "attribute_value": department, "consent": true}),
        )
        .await;
        public_id = person["id"].as_str().unwrap().to_string();
    }
    api(
        &app,
        &token,
        "/api/v1/trials/ward/rounds",
        json!({"seed": 3}),
    )
    .await;
    api(
        &app,
        &token,
        "/api/v1/trials/ward/rounds/1/publish",
        json!({}),
    )
    .await;
    api(
        &app,
        &token,
        "/api/v1/trials",
        json!({"name": "Induction day", "slug": "induction", "kind": "event",
               "event_date": "2026-12-07", "event_place": "Seminar room 2"}),
    )
    .await;

    browser
        .client
        .set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
        .await
        .unwrap();
    browser.client.goto(&app.url("/admin/login")).await.unwrap();
    browser.fill("email", ORGANISER_EMAIL).await;
    browser.fill("password", ORGANISER_PASSWORD).await;
    browser.submit_form_of("password").await;
    assert_eq!(browser.path().await, "/admin", "signed in");

    let mut pages: Vec<String> = CONSOLE
        .iter()
        .filter(|(method, path)| {
            *method == "GET"
                && !path.ends_with(".csv")
                && !path.contains("{batch}")
                // The projector display is made for a big screen, not a phone.
                && !path.ends_with("/display")
        })
        .map(|(_, path)| {
            let slug = if path.contains("/event") {
                "induction"
            } else {
                "ward"
            };
            path.replace("{slug}", slug)
                .replace("{public_id}", &public_id)
                .replace("{number}", "1")
                .replace("{technique}", "randomised-coffee-trials")
        })
        .collect();
    pages.extend(
        [
            "/",
            "/techniques",
            "/techniques/choose",
            "/techniques/randomised-coffee-trials",
            "/t/ward",
            "/admin/login",
        ]
        .map(String::from),
    );

    let mut too_wide = Vec::new();
    for page in &pages {
        browser.client.goto(&app.url(page)).await.unwrap();
        let (width, viewport) = overflow(&browser).await;
        assert!(
            viewport <= PHONE_WIDTH as i64,
            "the window is phone-sized (viewport {viewport} px)"
        );
        if width > viewport {
            too_wide.push(format!("{page}: {width} px in a {viewport} px viewport"));
        }
    }
    assert!(pages.len() > 15, "the walk covers the console: {pages:?}");
    assert!(
        too_wide.is_empty(),
        "pages wider than a phone:\n{}",
        too_wide.join("\n")
    );
    browser.client.clone().close().await.unwrap();
}
