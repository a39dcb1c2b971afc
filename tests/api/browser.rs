//! Real-browser tests: headless Chromium driven over WebDriver by chromedriver.
//!
//! `start_browser` is the harness; other browser tests in this binary use it too. Locally the
//! tests skip when `/usr/bin/chromedriver` is missing; in CI (`CI=true`) that is a failure.
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{spawn_app, ORGANISER_PASSWORD};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium session. Dropping it stops chromedriver and the browser it started.
pub struct Browser {
    pub client: fantoccini::Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Chromedriver was started as the leader of its own process group, and Chromium's
        // processes inherit that group, so one signal to the group stops the browser as well
        // as the driver (killing only the driver would leave Chromium running).
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Starts chromedriver on a free loopback port and opens a headless Chromium session.
///
/// `None` when chromedriver is not installed, unless `CI=true`: then it panics, because a
/// browser test that silently skips in CI proves nothing.
pub async fn start_browser() -> Option<Browser> {
    if !std::path::Path::new(CHROMEDRIVER).exists() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{CHROMEDRIVER} is missing; CI installs chromium and chromium-driver");
        }
        eprintln!("skipping a browser test: {CHROMEDRIVER} is not installed");
        return None;
    }
    let port = free_port();
    let mut command = Command::new(CHROMEDRIVER);
    command
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let driver = command.spawn().expect("chromedriver starts");
    let profile = tempfile::tempdir().expect("a temporary browser profile");
    // From here on the guard owns chromedriver, so a failure below still stops it.
    let mut guard = DriverGuard(Some((driver, profile)));
    let webdriver = format!("http://127.0.0.1:{port}");
    wait_until_ready(&webdriver).await;

    let (_, profile) = guard.0.as_ref().unwrap();
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-default-browser-check".into(),
        "--window-size=1280,900".into(),
    ];
    args.push(format!("--user-data-dir={}", profile.path().display()));
    let mut options = json!({ "args": args });
    if std::path::Path::new(CHROMIUM).exists() {
        options["binary"] = json!(CHROMIUM);
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("chrome"));
    capabilities.insert("goog:chromeOptions".into(), options);
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&webdriver)
        .await
        .expect("chromedriver opens a Chromium session");
    let (driver, profile) = guard.0.take().unwrap();
    Some(Browser {
        client,
        driver,
        _profile: profile,
    })
}

/// Stops chromedriver if starting the browser fails halfway.
struct DriverGuard(Option<(Child, tempfile::TempDir)>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some((mut driver, _)) = self.0.take() {
            let group = format!("-{}", driver.id());
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
            let _ = driver.kill();
            let _ = driver.wait();
        }
    }
}

/// A loopback port that was free a moment ago (chromedriver binds it right after).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

async fn wait_until_ready(webdriver: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = client.get(format!("{webdriver}/status")).send().await {
            if response.status().is_success() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer on {webdriver} within 20 seconds"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Browser {
    /// Types `value` into the field with this id, replacing what was there.
    pub async fn fill(&self, id: &str, value: &str) {
        let field = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("field #{id}: {e}"));
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// Clicks the submit button of the form that holds the field with this id, then waits for
    /// the next page to load.
    pub async fn submit_form_of(&self, id: &str) {
        let field = self.client.find(Locator::Id(id)).await.unwrap();
        let button = field
            .find(Locator::XPath("ancestor::form//button[@type='submit']"))
            .await
            .unwrap();
        self.click_and_wait(button).await;
    }

    /// Clicks an element that leads to another page and waits until that page has loaded.
    pub async fn click_and_wait(&self, element: fantoccini::elements::Element) {
        let before = self.client.current_url().await.unwrap();
        let old_body = self.client.find(Locator::Css("body")).await.unwrap();
        element.click().await.unwrap();
        // The old page's body goes stale once the browser has navigated.
        let deadline = Instant::now() + Duration::from_secs(15);
        while old_body.tag_name().await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "the click on {before} did not lead to a new page"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element found by `locator` and waits for the next page.
    pub async fn click(&self, locator: Locator<'_>) {
        let element = self
            .client
            .find(locator)
            .await
            .unwrap_or_else(|e| panic!("element {locator:?}: {e}"));
        self.click_and_wait(element).await;
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    pub async fn text_of(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("element {css}: {e}"))
            .text()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn an_organiser_sets_up_signs_in_and_creates_a_trial_in_a_browser() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    let base = url::Url::parse(&app.address).unwrap();
    let link = coffee_trials::app::accounts::issue_setup_link(&app.store, &base)
        .await
        .unwrap()
        .expect("a fresh install offers a set-up link");

    // Set-up: a mismatched second password is refused at the field, then the account is made.
    browser.client.goto(&link).await.unwrap();
    browser.fill("email", "lead@example.org").await;
    browser.fill("password", ORGANISER_PASSWORD).await;
    browser
        .fill("password_again", "something else entirely")
        .await;
    browser.submit_form_of("password").await;
    assert!(browser.path().await.starts_with("/admin/setup/"));
    assert!(!browser.text_of("#password_again-error").await.is_empty());
    browser.fill("password", ORGANISER_PASSWORD).await;
    browser.fill("password_again", ORGANISER_PASSWORD).await;
    browser.submit_form_of("password").await;
    assert_eq!(browser.path().await, "/admin");
    assert!(browser
        .text_of("main")
        .await
        .contains("Signed in as lead@example.org"));

    // Sign out, then back in through the sign-in page.
    browser
        .click(Locator::XPath("//button[normalize-space()='Sign out']"))
        .await;
    browser.client.goto(&app.url("/admin")).await.unwrap();
    assert_eq!(browser.path().await, "/admin/login");
    browser.fill("email", "lead@example.org").await;
    browser.fill("password", "not the password at all").await;
    browser.submit_form_of("password").await;
    assert!(!browser.text_of("#login-error").await.is_empty());
    browser.fill("email", "lead@example.org").await;
    browser.fill("password", ORGANISER_PASSWORD).await;
    browser.submit_form_of("password").await;
    assert_eq!(browser.path().await, "/admin");

    // Create a trial from the console's link.
    browser.click(Locator::LinkText("New trial")).await;
    browser.fill("name", "Lunch & Learn").await;
    browser.fill("slug", "lunch-and-learn").await;
    browser
        .fill("attribute_values", "Research\nFinance\nEstates")
        .await;
    browser.submit_form_of("name").await;
    assert_eq!(browser.path().await, "/admin/trials/lunch-and-learn");
    assert!(browser.text_of("[role=status]").await.contains("Saved"));
    assert_eq!(browser.text_of("h1").await, "Lunch & Learn");

    browser.client.goto(&app.url("/admin")).await.unwrap();
    assert!(browser.text_of("table").await.contains("Lunch & Learn"));
    let trial = app
        .store
        .find_trial("lunch-and-learn")
        .await
        .unwrap()
        .expect("the trial is saved");
    assert_eq!(trial.name, "Lunch & Learn");
    browser.client.clone().close().await.unwrap();
}
