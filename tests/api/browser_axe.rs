//! axe-core in a real Chromium on every console page of the route table and the public pages,
//! signed in and not, at 1280×900 and on a 390×844 phone: no critical or serious finding, and
//! no page wider than the phone. Then the projector display at 1920×1080 (all tables of a
//! 40-person room on one screen; pages that turn by themselves for 200 people, with a pause
//! control) and pages that update themselves without reloading.
//!
//! axe-core comes from the npm registry: `.ci/run` installs it under `target/axe`. Without it
//! the axe test skips with a message, unless CI=true, where that is a failure.
use std::time::{Duration, Instant};

use chrono::Utc;
use coffee_trials::app::events;
use coffee_trials::store::trials::Trial;
use fantoccini::Locator;
use serde_json::{json, Value};

use crate::browser::{start_browser, Browser};
use crate::builders::{PersonBuilder, TrialBuilder};
use crate::helpers::{spawn_app_without_loops, TestApp, ORGANISER_EMAIL, ORGANISER_PASSWORD};
use crate::participants::{link_path, newest_email};
use crate::route_table::CONSOLE;

const AXE: &str = "target/axe/node_modules/axe-core/axe.min.js";
const WIDE: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);

/// axe-core's source, or None (with a message) when it is not installed outside CI.
fn axe_source() -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(AXE);
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "{} is missing ({e}); .ci/run installs axe-core",
                path.display()
            )
        }
        Err(_) => {
            eprintln!(
                "skipping the axe test: {} is missing (`npm install --prefix target/axe axe-core@4`, as .ci/run does)",
                path.display()
            );
            None
        }
    }
}

/// Critical and serious findings on the page now open, one line each.
async fn axe_findings(browser: &Browser, axe: &str) -> Vec<String> {
    // WebDriver's scripts are not subject to the page's Content-Security-Policy, so axe runs
    // on pages that allow no script at all.
    let loaded = browser
        .client
        .execute(&format!("{axe}\nreturn typeof window.axe;"), vec![])
        .await
        .unwrap();
    assert_eq!(loaded, json!("object"), "axe-core loads");
    let result = browser
        .client
        .execute_async(
            r#"var done = arguments[arguments.length - 1];
               axe.run(document, { resultTypes: ["violations"] })
                 .then(function (r) { done(r.violations); })
                 .catch(function (e) { done("axe failed: " + e); });"#,
            vec![],
        )
        .await
        .unwrap();
    let Value::Array(violations) = result else {
        panic!("{result}");
    };
    violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("critical" | "serious")))
        .map(|v| {
            let targets: Vec<String> = v["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .take(3)
                .map(|n| n["target"].to_string())
                .collect();
            format!(
                "{} ({}): {} at {}",
                v["id"].as_str().unwrap(),
                v["impact"].as_str().unwrap(),
                v["help"].as_str().unwrap(),
                targets.join(", ")
            )
        })
        .collect()
}

async fn scroll_width(browser: &Browser) -> (i64, i64) {
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

/// Runs axe (and at phone width the width check) on each page; returns what is wrong.
async fn walk(
    browser: &Browser,
    app: &TestApp,
    axe: &str,
    pages: &[String],
    who: &str,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for (width, height) in [WIDE, PHONE] {
        browser.client.set_window_size(width, height).await.unwrap();
        for page in pages {
            browser.client.goto(&app.url(page)).await.unwrap();
            for finding in axe_findings(browser, axe).await {
                wrong.push(format!("{who} {page} at {width} px: {finding}"));
            }
            // The projector display is made for a big screen, not a phone.
            if width == PHONE.0 && !page.ends_with("/display") {
                let (scroll, viewport) = scroll_width(browser).await;
                assert!(viewport <= PHONE.0 as i64, "a phone-sized viewport");
                if scroll > viewport {
                    wrong.push(format!("{who} {page}: {scroll} px wide in {viewport} px"));
                }
            }
        }
    }
    wrong
}

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

#[tokio::test]
async fn axe_finds_nothing_critical_or_serious_on_any_page_at_either_width() {
    let Some(axe) = axe_source() else {
        return;
    };
    let Some(browser) = start_browser().await else {
        return;
    };
    let app = spawn_app_without_loops().await;
    app.sign_up_first_organiser().await;
    let token = app.api_token().await;
    api(
        &app,
        &token,
        "/api/v1/trials",
        json!({"name": "Lunch and learn", "slug": "ward", "attribute_name": "Department"}),
    )
    .await;
    let mut public_id = String::new();
    for (i, department) in ["Paediatrics", "Estates", "Finance", "Research"]
        .iter()
        .enumerate()
    {
        let person = api(
            &app,
            &token,
            "/api/v1/trials/ward/participants",
            json!({"name": format!("Ada Lovelace {i}"), "email": format!("ada.{i}@example.org"),
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
    let induction = TrialBuilder::new("induction")
        .name("Induction day")
        .kind("event")
        .create(&app.store)
        .await;
    in_the_room(&app, &induction, 6).await;
    events::run_quick_round(&app.store, &induction, 5, None, Utc::now())
        .await
        .unwrap();

    // A participant's own pages: an event page, and confirm and manage from a sign-up.
    let signed_up = app
        .submit(
            "/t/induction",
            "/t/induction",
            &[
                ("name", "Grace Hopper"),
                ("email", "grace@example.org"),
                ("consent", "yes"),
            ],
        )
        .await;
    let phone = signed_up.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let confirm = link_path(&newest_email(&app).await.body_text, "/c/");
    let confirmed = app.submit(&confirm, &confirm, &[]).await;
    let manage = confirmed.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(manage.starts_with("/m/"), "{manage}");

    let mut public: Vec<String> = [
        "/",
        "/techniques",
        "/techniques/choose",
        "/techniques/choose?phase=nonsense&minutes=abc&people=0",
        "/techniques/randomised-coffee-trials",
        "/t/ward",
        "/t/induction",
        "/t/induction/poster",
        "/admin/login",
        "/admin/forgot",
        "/no-such-page",
    ]
    .map(String::from)
    .to_vec();
    public.extend([phone.clone(), confirm.clone(), manage.clone()]);

    let mut wrong = walk(&browser, &app, &axe, &public, "signed out:").await;

    // Failed forms, as a person meets them: the error summary and the fields' messages.
    browser
        .client
        .set_window_size(WIDE.0, WIDE.1)
        .await
        .unwrap();
    browser.client.goto(&app.url("/t/ward")).await.unwrap();
    browser.fill("email", "not an address").await;
    // The browser's own checks would stop the form before the server sees it.
    browser
        .client
        .execute(
            "document.querySelectorAll('form').forEach(function (f) { f.noValidate = true; });",
            vec![],
        )
        .await
        .unwrap();
    browser.submit_form_of("email").await;
    let focused = browser
        .client
        .execute("return document.activeElement.id;", vec![])
        .await
        .unwrap();
    assert_eq!(
        focused,
        json!("error-summary"),
        "the summary takes the focus"
    );
    let invalid = browser
        .client
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .attr("aria-invalid")
        .await
        .unwrap();
    assert_eq!(invalid.as_deref(), Some("true"));
    for finding in axe_findings(&browser, &axe).await {
        wrong.push(format!("a failed sign-up: {finding}"));
    }
    // The summary's link leads to the field.
    browser
        .client
        .find(Locator::Css("#error-summary a[href='#email']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let url = browser.client.current_url().await.unwrap();
    assert_eq!(url.fragment(), Some("email"));

    browser.client.goto(&app.url("/admin/login")).await.unwrap();
    browser.fill("email", ORGANISER_EMAIL).await;
    browser.fill("password", ORGANISER_PASSWORD).await;
    browser.submit_form_of("password").await;
    assert_eq!(browser.path().await, "/admin", "signed in");

    let mut console: Vec<String> = CONSOLE
        .iter()
        .filter(|(method, path)| {
            *method == "GET"
                && !path.ends_with(".csv")
                && !path.contains("{batch}")
                // A part of the display that its script fetches, not a page.
                && !path.ends_with("/board")
        })
        .map(|(_, path)| {
            let slug = if path.contains("/event") || path.contains("/display") {
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
    console.push("/".into());
    assert!(
        console.len() > 15,
        "the walk covers the console: {console:?}"
    );
    wrong.extend(walk(&browser, &app, &axe, &console, "signed in:").await);

    // A failed console form.
    browser
        .client
        .set_window_size(WIDE.0, WIDE.1)
        .await
        .unwrap();
    browser
        .client
        .goto(&app.url("/admin/trials/new"))
        .await
        .unwrap();
    browser.fill("slug", "Not A Slug!").await;
    browser
        .client
        .execute(
            "document.querySelectorAll('form').forEach(function (f) { f.noValidate = true; });",
            vec![],
        )
        .await
        .unwrap();
    browser.submit_form_of("slug").await;
    assert!(browser
        .text_of("#error-summary")
        .await
        .contains("There is a problem"));
    for finding in axe_findings(&browser, &axe).await {
        wrong.push(format!("a failed trial form: {finding}"));
    }

    assert!(
        wrong.is_empty(),
        "accessibility findings:\n{}",
        wrong.join("\n")
    );
    browser.client.clone().close().await.unwrap();
}

/// Adds `n` people to the event and ticks them in.
async fn in_the_room(app: &TestApp, trial: &Trial, n: usize) -> Vec<String> {
    const FIRST: &[&str] = &[
        "Ada",
        "Grace",
        "Alan",
        "Edsger",
        "Barbara",
        "Donald",
        "Frances",
        "Tim",
        "Radia",
        "Ken",
        "Margaret",
        "Dennis",
        "Hedy",
        "John",
        "Karen",
        "Niklaus",
        "Sophie",
        "Claude",
        "Katherine",
        "Vint",
    ];
    const LAST: &[&str] = &[
        "Lovelace",
        "Hopper",
        "Turing",
        "Dijkstra",
        "Liskov",
        "Knuth",
        "Allen",
        "Berners-Lee",
        "Perlman",
        "Thompson",
    ];
    let mut ids = Vec::new();
    for i in 0..n {
        let name = format!(
            "{} {}",
            FIRST[i % FIRST.len()],
            LAST[(i / FIRST.len()) % LAST.len()]
        );
        let person = PersonBuilder::new(&name, &format!("person{i}@example.org"))
            .add_to(&app.store, trial)
            .await;
        events::check_in(&app.store, trial, &person.public_id, Utc::now())
            .await
            .unwrap();
        ids.push(person.public_id);
    }
    ids
}

/// Where each table is on the screen: [shown, top, bottom] for every `#pairs li`.
async fn tables_on_screen(browser: &Browser) -> Vec<(bool, f64, f64)> {
    let boxes = browser
        .client
        .execute(
            r##"return Array.prototype.map.call(document.querySelectorAll("#pairs li"), function (li) {
                 var r = li.getBoundingClientRect();
                 return [li.offsetParent !== null, r.top, r.bottom];
               });"##,
            vec![],
        )
        .await
        .unwrap();
    boxes
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b[0].as_bool().unwrap(),
                b[1].as_f64().unwrap(),
                b[2].as_f64().unwrap(),
            )
        })
        .collect()
}

async fn run_js(browser: &Browser, script: &str) -> Value {
    browser.client.execute(script, vec![]).await.unwrap()
}

/// Waits (up to a generous limit, as a person would) until `script` returns true.
async fn wait_for(browser: &Browser, script: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while run_js(browser, script).await != json!(true) {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn axe_display_fits_a_big_room_and_pages_turn_and_update_without_reloading() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let app = spawn_app_without_loops().await;
    app.sign_up_first_organiser().await;
    browser.client.goto(&app.url("/admin/login")).await.unwrap();
    browser.fill("email", ORGANISER_EMAIL).await;
    browser.fill("password", ORGANISER_PASSWORD).await;
    browser.submit_form_of("password").await;
    // A 1920×1080 viewport: the window is larger by the browser's own bars.
    browser.client.set_window_size(1920, 1080).await.unwrap();
    let bars = run_js(&browser, "return window.outerHeight - window.innerHeight;").await;
    let bars = bars.as_i64().unwrap() as u32;
    browser
        .client
        .set_window_size(1920, 1080 + bars)
        .await
        .unwrap();

    // 40 people: all 20 tables on one 1080p screen, with nothing to scroll and nothing turning.
    let forty = TrialBuilder::new("forty")
        .name("Research staff induction")
        .kind("event")
        .create(&app.store)
        .await;
    in_the_room(&app, &forty, 40).await;
    events::run_quick_round(&app.store, &forty, 1, None, Utc::now())
        .await
        .unwrap();
    browser
        .client
        .goto(&app.url("/admin/trials/forty/display"))
        .await
        .unwrap();
    let height = run_js(&browser, "return window.innerHeight;").await;
    let height = height.as_f64().unwrap();
    assert!(
        (1070.0..=1080.0).contains(&height),
        "a 1080p screen: {height}"
    );
    let tables = tables_on_screen(&browser).await;
    assert_eq!(tables.len(), 20);
    for (i, (shown, top, bottom)) in tables.iter().enumerate() {
        assert!(
            *shown && *top >= 0.0 && *bottom <= height,
            "table {} at {top}..{bottom} of {height}",
            i + 1
        );
    }
    let scrolls = run_js(
        &browser,
        "return document.documentElement.scrollHeight > window.innerHeight;",
    )
    .await;
    assert_eq!(scrolls, json!(false));
    assert_eq!(
        browser.text_of("#page-of").await,
        "",
        "one page: nothing turns"
    );

    // 200 people: 100 tables do not fit, so the page turns by itself, tables then names A–Z.
    let big = TrialBuilder::new("big")
        .name("All-staff conference")
        .kind("event")
        .create(&app.store)
        .await;
    in_the_room(&app, &big, 200).await;
    events::run_quick_round(&app.store, &big, 2, None, Utc::now())
        .await
        .unwrap();
    browser
        .client
        .goto(&app.url("/admin/trials/big/display"))
        .await
        .unwrap();
    let indicator = browser.text_of("#page-of").await;
    assert!(indicator.starts_with("Tables, page 1 of "), "{indicator}");
    let tables = tables_on_screen(&browser).await;
    assert_eq!(tables.len(), 100);
    let shown: Vec<_> = tables.iter().filter(|t| t.0).collect();
    assert!(
        !shown.is_empty() && shown.len() < 100,
        "{} shown",
        shown.len()
    );
    for (_, top, bottom) in &shown {
        assert!(
            *top >= 0.0 && *bottom <= height,
            "{top}..{bottom} of {height}"
        );
    }
    let names_a_z = run_js(
        &browser,
        "return document.querySelectorAll('#names li').length;",
    )
    .await;
    assert_eq!(names_a_z, json!(200));
    // Faster turning, for the test only; the pages come round to the names view.
    run_js(
        &browser,
        "document.getElementById('live').setAttribute('data-page-seconds', '0.3'); return 1;",
    )
    .await;
    wait_for(
        &browser,
        "return document.getElementById('page-of').textContent.indexOf('Find your name, page') === 0;",
        "the names view comes round",
    )
    .await;

    // The pause control stops the turning.
    let pause = browser
        .client
        .find(Locator::Css("[data-live-pause]"))
        .await
        .unwrap();
    assert!(pause.is_displayed().await.unwrap());
    assert_eq!(pause.text().await.unwrap(), "Pause");
    pause.click().await.unwrap();
    assert_eq!(pause.text().await.unwrap(), "Resume");
    let paused_at = browser.text_of("#page-of").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(browser.text_of("#page-of").await, paused_at, "paused");
    pause.click().await.unwrap();
    assert_eq!(pause.text().await.unwrap(), "Pause");

    // A new round appears without a reload (the page keeps a mark set on it).
    run_js(
        &browser,
        "window.notReloaded = true; document.getElementById('live').setAttribute('data-live-every', '0.5'); return 1;",
    )
    .await;
    events::run_quick_round(&app.store, &big, 3, None, Utc::now())
        .await
        .unwrap();
    wait_for(
        &browser,
        "return document.querySelector('h1').textContent.indexOf('round 2') >= 0;",
        "round 2 on the display",
    )
    .await;
    assert_eq!(
        run_js(&browser, "return window.notReloaded === true;").await,
        json!(true)
    );

    // A person's phone: the table appears without a reload when their round starts.
    browser
        .client
        .set_window_size(PHONE.0, PHONE.1)
        .await
        .unwrap();
    let small = TrialBuilder::new("small")
        .name("Team day")
        .kind("event")
        .create(&app.store)
        .await;
    in_the_room(&app, &small, 1).await;
    let signed_up = app
        .submit(
            "/t/small",
            "/t/small",
            &[
                ("name", "Grace Hopper"),
                ("email", "grace@example.org"),
                ("consent", "yes"),
            ],
        )
        .await;
    let phone = signed_up.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    events::im_here(&app.store, phone.strip_prefix("/e/").unwrap(), Utc::now())
        .await
        .unwrap();
    browser.client.goto(&app.url(&phone)).await.unwrap();
    assert!(browser.text_of("#waiting").await.contains("first round"));
    let pause = browser
        .client
        .find(Locator::Css("[data-live-pause]"))
        .await
        .unwrap();
    assert_eq!(pause.text().await.unwrap(), "Pause updates");
    run_js(
        &browser,
        "window.notReloaded = true; document.getElementById('live').setAttribute('data-live-every', '0.5'); return 1;",
    )
    .await;
    events::run_quick_round(&app.store, &small, 4, None, Utc::now())
        .await
        .unwrap();
    wait_for(
        &browser,
        "var t = document.querySelector('#seat .table'); return t !== null && t.textContent === 'Table 1';",
        "the table on the phone",
    )
    .await;
    assert_eq!(
        run_js(&browser, "return window.notReloaded === true;").await,
        json!(true)
    );
    browser.client.clone().close().await.unwrap();
}
