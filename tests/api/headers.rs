//! Security headers on every kind of response, the stylesheet that lets the policy refuse
//! inline styles, unknown addresses, and Retry-After on every 429.
use std::path::Path;

use chrono::Utc;
use coffee_trials::domain::{TrialInput, TrialSettings};
use reqwest::header::HeaderMap;
use reqwest::Response;
use serde_json::{json, Value};

use crate::browser::start_browser;
use crate::helpers::{spawn_app, spawn_app_with, TestApp, ORGANISER_EMAIL, ORGANISER_PASSWORD};

const POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                      form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const PHONE_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                            style-src 'self'; img-src 'self' data:; form-action 'self'; \
                            base-uri 'none'; frame-ancestors 'none'";

/// A signed-in organiser, a programme ("lunch") and an event ("induction") with one person
/// checked in and a quick round run; returns the person's phone-page path.
async fn app_with_trials() -> (TestApp, String) {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let programme = TrialInput {
        name: "Lunch and learn".into(),
        slug: "lunch".into(),
        attribute_values: "Research\nFinance".into(),
        ..Default::default()
    };
    let event = TrialInput {
        name: "Induction day".into(),
        slug: "induction".into(),
        kind: "event".into(),
        event_date: "2026-12-07".into(),
        event_planned_rounds: "4".into(),
        event_round_minutes: "7".into(),
        ..Default::default()
    };
    for input in [programme, event] {
        app.store
            .create_trial(&TrialSettings::try_from(&input).unwrap(), Utc::now())
            .await
            .unwrap();
    }
    let mut phone = String::new();
    for name in ["Ann Lee", "Bob Ray"] {
        let email = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
        let signed_up = app
            .submit(
                "/t/induction",
                "/t/induction",
                &[("name", name), ("email", &email), ("consent", "yes")],
            )
            .await;
        assert_eq!(signed_up.status().as_u16(), 303);
        phone = signed_up.headers()["location"]
            .to_str()
            .unwrap()
            .to_string();
        let here = app.submit(&phone, &format!("{phone}/here"), &[]).await;
        assert_eq!(here.status().as_u16(), 303);
    }
    let round = app
        .submit(
            "/admin/trials/induction/event",
            "/admin/trials/induction/event/rounds",
            &[],
        )
        .await;
    assert_eq!(round.status().as_u16(), 303);
    (app, phone)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// The headers every response carries, whatever its route or status.
fn assert_common_headers(what: &str, headers: &HeaderMap) {
    assert_eq!(
        header(headers, "x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        header(headers, "referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(
        header(headers, "strict-transport-security"),
        None,
        "{what}: no HSTS while BASE_URL is http"
    );
}

fn assert_no_store(what: &str, headers: &HeaderMap) {
    assert_eq!(header(headers, "cache-control"), Some("no-store"), "{what}");
}

/// Inline styles and inline script would be refused by the policy, so no page may have any.
fn assert_no_inline_style_or_script(what: &str, html: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<style"), "{what} has a <style> block");
    assert!(!lower.contains("style="), "{what} has a style attribute");
    for (at, _) in lower.match_indices("<script") {
        let tag_end = lower[at..].find('>').unwrap() + at;
        assert!(
            lower[at..tag_end].contains(" src="),
            "{what} has an inline script"
        );
    }
    for handler in [
        " onclick=",
        " onload=",
        " onsubmit=",
        " onchange=",
        " onerror=",
    ] {
        assert!(!lower.contains(handler), "{what} has an inline {handler}");
    }
}

async fn get_with(client: &reqwest::Client, app: &TestApp, path: &str) -> Response {
    client.get(app.url(path)).send().await.unwrap()
}

#[tokio::test]
async fn headers_are_on_every_kind_of_page_and_token_and_console_pages_are_not_stored() {
    let (app, phone) = app_with_trials().await;
    let token = app.api_token().await;
    let anonymous = app.anonymous_client();
    let fake = "a".repeat(64);

    // Pages behind a token, a sign-in or a form with a CSRF token, errors and unknown
    // addresses: none may be stored. Tokens that lead nowhere still reach their route.
    let unstored = [
        "/t/lunch".to_string(),
        "/admin/login".into(),
        format!("/admin/setup/{fake}"),
        format!("/admin/invite/{fake}"),
        format!("/c/{fake}"),
        format!("/m/{fake}"),
        format!("/m/{fake}/erase"),
        format!("/u/{fake}"),
        format!("/f/{fake}"),
        format!("/f/{fake}/more"),
        format!("/s/{fake}"),
        format!("/still-in/{fake}"),
        phone.clone(),
        format!("/api/v1/public/manage/{fake}"),
        "/nowhere".into(),
        "/api/v1/nowhere".into(),
    ];
    for path in &unstored {
        let response = get_with(&anonymous, &app, path).await;
        let what = format!("GET {path} ({})", response.status());
        assert_common_headers(&what, response.headers());
        assert_no_store(&what, response.headers());
        // A person's event page runs the site's own script to keep itself current.
        let policy = if *path == phone { PHONE_POLICY } else { POLICY };
        assert_eq!(
            header(response.headers(), "content-security-policy"),
            Some(policy),
            "{what}"
        );
        if header(response.headers(), "content-type").is_some_and(|t| t.starts_with("text/html")) {
            assert_no_inline_style_or_script(&what, &response.text().await.unwrap());
        }
    }

    // The same routes spelled with percent-encoded letters are routed alike, so they are
    // not stored either.
    for path in [format!("/%6d/{fake}"), format!("/%65{}", &phone[2..])] {
        let response = get_with(&anonymous, &app, &path).await;
        assert_no_store(&format!("GET {path}"), response.headers());
    }

    // An organiser's console and API, and what a stranger gets there.
    let console = [
        "/admin",
        "/admin/trials/new",
        "/admin/trials/lunch",
        "/admin/trials/lunch/participants",
        "/admin/trials/lunch/participants.csv",
        "/admin/trials/induction/dashboard",
        "/admin/trials/induction/event",
        "/admin/trials/induction/rounds",
        "/admin/trials/induction/rounds/1",
        "/admin/techniques",
        "/admin/tokens",
        "/admin/outbox",
        "/admin/organisers/invite",
    ];
    for path in console {
        let response = app.get(path).await;
        let what = format!("GET {path} signed in ({})", response.status());
        assert_eq!(response.status().as_u16(), 200, "{what}");
        assert_common_headers(&what, response.headers());
        assert_no_store(&what, response.headers());
        assert_eq!(
            header(response.headers(), "content-security-policy"),
            Some(POLICY),
            "{what}"
        );
        if header(response.headers(), "content-type").is_some_and(|t| t.starts_with("text/html")) {
            assert_no_inline_style_or_script(&what, &response.text().await.unwrap());
        }
        let stranger = get_with(&anonymous, &app, path).await;
        let what = format!("GET {path} anonymous ({})", stranger.status());
        assert_common_headers(&what, stranger.headers());
        assert_no_store(&what, stranger.headers());
    }
    let api = app
        .anonymous_client()
        .get(app.url("/api/v1/trials"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 200);
    assert_common_headers("organiser API", api.headers());
    assert_no_store("organiser API", api.headers());
    let refused = get_with(&anonymous, &app, "/api/v1/trials").await;
    assert!(refused.status().is_client_error());
    assert_common_headers("organiser API without a token", refused.headers());
    assert_no_store("organiser API without a token", refused.headers());

    // Pages anyone may keep: they still carry the policy, but are not marked no-store.
    for path in [
        "/techniques",
        "/api/v1/techniques",
        "/t/induction/poster",
        "/healthz",
        "/readyz",
    ] {
        let response = get_with(&anonymous, &app, path).await;
        let what = format!("GET {path} ({})", response.status());
        assert_eq!(response.status().as_u16(), 200, "{what}");
        assert_common_headers(&what, response.headers());
        assert_ne!(
            header(response.headers(), "cache-control"),
            Some("no-store"),
            "{what}"
        );
        assert_eq!(
            header(response.headers(), "content-security-policy"),
            Some(POLICY),
            "{what}"
        );
        if header(response.headers(), "content-type").is_some_and(|t| t.starts_with("text/html")) {
            assert_no_inline_style_or_script(&what, &response.text().await.unwrap());
        }
    }
}

#[tokio::test]
async fn headers_the_dashboard_charts_and_the_poster_code_have_no_inline_styles() {
    let (app, _) = app_with_trials().await;
    let dashboard = app.get_html("/admin/trials/induction/dashboard").await;
    assert!(
        dashboard.contains("<svg"),
        "the dashboard draws a chart once a round has run"
    );
    assert_no_inline_style_or_script("the dashboard", &dashboard);
    let poster = app.get_html("/t/induction/poster").await;
    assert!(poster.contains("<svg"), "the poster has its QR code");
    assert_no_inline_style_or_script("the poster", &poster);
}

#[tokio::test]
async fn headers_the_projector_display_may_be_framed_by_the_site_and_runs_its_own_script() {
    let (app, _) = app_with_trials().await;
    let response = app.get("/admin/trials/induction/display").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_common_headers("the display", response.headers());
    assert_no_store("the display", response.headers());
    let policy = header(response.headers(), "content-security-policy")
        .unwrap()
        .to_string();
    assert!(policy.contains("frame-ancestors 'self'"), "{policy}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let html = response.text().await.unwrap();
    assert_no_inline_style_or_script("the display", &html);
    let src = attribute_after(&html, "<script src=\"");
    assert!(src.starts_with("/static/live.js?v="), "{src}");
    let script = app.get(&src).await;
    assert_eq!(script.status().as_u16(), 200);
    assert!(header(script.headers(), "content-type")
        .unwrap()
        .starts_with("text/javascript"));
    assert!(script.text().await.unwrap().contains("countdown"));

    // Every other page refuses framing and script altogether.
    let phone_policy = app.get("/admin").await;
    let policy = header(phone_policy.headers(), "content-security-policy").unwrap();
    assert!(policy.contains("frame-ancestors 'none'"));
    assert!(!policy.contains("script-src"));
}

/// The value of the attribute that starts right after `marker`.
fn attribute_after(html: &str, marker: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in page"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].replace("&amp;", "&")
}

#[tokio::test]
async fn headers_the_stylesheet_is_served_with_its_version_and_kept_for_a_year() {
    let app = spawn_app().await;
    let page = app.get_html("/techniques").await;
    let href = attribute_after(&page, "<link rel=\"stylesheet\" href=\"");
    assert!(href.starts_with("/static/app.css?v="), "{href}");
    let response = app.get(&href).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_common_headers("the stylesheet", response.headers());
    assert_eq!(
        header(response.headers(), "content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(
        header(response.headers(), "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let css = response.text().await.unwrap();
    // Every class the templates use for what used to be style attributes is defined.
    for class in [
        ".console-nav",
        ".flush",
        ".stat-value",
        ".privacy",
        ".chart-svg",
    ] {
        assert!(css.contains(class), "{class} is in the stylesheet");
    }
}

#[tokio::test]
async fn headers_no_template_has_inline_styles_or_scripts() {
    // Email templates are exempt: mail clients ignore stylesheets, and no page serves them.
    let mut checked = 0;
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().unwrap() != "email" {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "html") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert_no_inline_style_or_script(&path.display().to_string(), &text);
                checked += 1;
            }
        }
    }
    assert!(checked > 30, "only {checked} templates found");
}

#[tokio::test]
async fn headers_hsts_is_sent_only_when_the_base_url_is_https() {
    let app = spawn_app_with(|s| {
        s.base_url = url::Url::parse("https://coffee.example.org/").unwrap();
    })
    .await;
    for path in ["/healthz", "/techniques", "/nowhere", "/admin"] {
        let response = app.get(path).await;
        assert_eq!(
            header(response.headers(), "strict-transport-security"),
            Some("max-age=31536000"),
            "GET {path}"
        );
    }
    // The plain-http case is checked by every assert_common_headers above.
    let plain = spawn_app().await;
    let response = plain.get("/healthz").await;
    assert_eq!(
        header(response.headers(), "strict-transport-security"),
        None
    );
}

#[tokio::test]
async fn headers_unknown_addresses_get_a_page_or_a_json_error() {
    let app = spawn_app().await;

    let page = app.get("/no/such/page").await;
    assert_eq!(page.status().as_u16(), 404);
    assert!(header(page.headers(), "content-type")
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("Page not found"), "{html}");
    assert!(
        html.contains("<nav aria-label=\"Site\">"),
        "the site's navigation"
    );

    // With an organiser's token, so that the question is only whether the address exists.
    let token = app.organiser_token().await;
    // Another spelling of a path is refused before routing, with the same JSON shape.
    for (path, status) in [
        ("/api/v1/nowhere", 404),
        ("/api/nowhere", 404),
        ("/%61pi/v1/nowhere", 400),
    ] {
        let response = app
            .anonymous_client()
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "GET {path}");
        assert_common_headers(path, response.headers());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["field"], Value::Null, "GET {path}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));
    }

    // A known address asked with a method it does not take.
    let fake = "a".repeat(64);
    let wrong = app
        .client
        .post(app.url(&format!("/api/v1/public/manage/{fake}")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 405);
    assert_common_headers("a 405 from the API", wrong.headers());
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["field"], Value::Null);
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));

    let wrong = app.client.put(app.url("/t/lunch")).send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 405);
    assert!(header(wrong.headers(), "content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("<nav aria-label=\"Site\">"));
}

#[tokio::test]
async fn headers_every_429_says_when_to_try_again() {
    let app = spawn_app_with(|s| s.signup_limit_per_ip = 1).await;
    let programme = TrialInput {
        name: "Lunch and learn".into(),
        slug: "lunch".into(),
        ..Default::default()
    };
    app.store
        .create_trial(&TrialSettings::try_from(&programme).unwrap(), Utc::now())
        .await
        .unwrap();

    // The JSON API's sign-up.
    let mut last = None;
    for n in 0..2 {
        let response = app
            .client
            .post(app.url("/api/v1/public/signups"))
            .json(&json!({ "trial": "lunch", "name": format!("Person {n}"),
                "email": format!("person{n}@example.org"), "consent": true }))
            .send()
            .await
            .unwrap();
        last = Some(response);
    }
    let limited = last.unwrap();
    assert_eq!(limited.status().as_u16(), 429);
    let wait: u64 = header(limited.headers(), "retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    // The limit counts the last hour with a fading share of the hour before, so the wait
    // can run past an hour.
    assert!((1..=7200).contains(&wait), "Retry-After {wait}");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["field"], Value::Null);
    assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()));

    // The sign-up form, from the same address.
    let form = app
        .submit(
            "/t/lunch",
            "/t/lunch",
            &[
                ("name", "Form Person"),
                ("email", "form@example.org"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(form.status().as_u16(), 429);
    let wait: u64 = header(form.headers(), "retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=7200).contains(&wait), "Retry-After {wait}");

    // The organisers' sign-in, after too many wrong passwords.
    app.sign_up_first_organiser().await;
    let stranger = app.anonymous_client();
    let mut status = 0;
    for _ in 0..10 {
        let response = app
            .sign_in(&stranger, ORGANISER_EMAIL, "not the password at all")
            .await;
        status = response.status().as_u16();
        if status == 429 {
            let wait: u64 = header(response.headers(), "retry-after")
                .expect("a 429 says when to try again")
                .parse()
                .unwrap();
            assert!(wait > 0);
            break;
        }
    }
    assert_eq!(status, 429, "the sign-in is limited");
}

#[tokio::test]
async fn headers_pages_look_right_under_the_policy_in_a_browser() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let (app, phone) = app_with_trials().await;
    browser.client.goto(&app.url("/admin/login")).await.unwrap();
    browser.fill("email", ORGANISER_EMAIL).await;
    browser.fill("password", ORGANISER_PASSWORD).await;
    browser.submit_form_of("password").await;
    assert_eq!(browser.path().await, "/admin");
    // The console's navigation is laid out by a class that used to be a style attribute.
    let nav = browser
        .client
        .execute(
            "return getComputedStyle(document.querySelector('nav.console-nav')).display",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(nav, json!("flex"));
    // The computed styles come from the stylesheet, so it was loaded despite the policy;
    // each layout has its own background.
    for (path, background) in [
        ("/techniques", "rgb(251, 250, 247)"),
        (phone.as_str(), "rgb(251, 250, 247)"),
        ("/t/induction/poster", "rgb(255, 255, 255)"),
        ("/admin/trials/induction/display", "rgb(20, 32, 46)"),
    ] {
        browser.client.goto(&app.url(path)).await.unwrap();
        let computed = browser
            .client
            .execute(
                "return getComputedStyle(document.body).backgroundColor",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(computed, json!(background), "{path}");
    }
}
