use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use coffee_trials::app::feedback::FeedbackReport;
use coffee_trials::app::schedule::TickReport;
use coffee_trials::config::{DatabaseUrl, RawSettings, Settings};
use coffee_trials::mail::transport::Transport;
use coffee_trials::mail::worker::{deliver_one, Outcome, WorkerConfig};
use coffee_trials::startup::Application;
use coffee_trials::store::Store;
use rand::Rng;
use serde_json::Value;

/// Where each test gets its own database.
pub enum TestDatabase {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        server: String,
        name: String,
    },
}

static POSTGRES_SERVER: LazyLock<Option<String>> = LazyLock::new(|| {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres:") || u.starts_with("postgresql:"))
});

pub fn on_postgres() -> bool {
    POSTGRES_SERVER.is_some()
}

impl TestDatabase {
    /// A new, empty database: a file in a temporary folder, or a freshly created database on
    /// the PostgreSQL server named by TEST_DATABASE_URL (an unreachable server fails the test).
    pub async fn create() -> Self {
        match POSTGRES_SERVER.as_ref() {
            None => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite:{}", dir.path().join("test.db").display());
                TestDatabase::Sqlite { _dir: dir, url }
            }
            Some(server) => {
                let name = format!("ct_test_{:016x}", rand::rng().random::<u64>());
                let admin = admin_connection(server).await;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                admin.close().await;
                TestDatabase::Postgres {
                    server: server.clone(),
                    name,
                }
            }
        }
    }

    pub fn url(&self) -> String {
        match self {
            TestDatabase::Sqlite { url, .. } => url.clone(),
            TestDatabase::Postgres { server, name } => with_database(server, name),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { server, name } = self {
            let (server, name) = (server.clone(), name.clone());
            // Drop runs outside async code, so a short-lived runtime on its own thread does it.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    let admin = admin_connection(&server).await;
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&admin)
                        .await;
                    admin.close().await;
                });
            })
            .join();
        }
    }
}

async fn admin_connection(server: &str) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(server)
        .await
        .unwrap_or_else(|e| {
            panic!("TEST_DATABASE_URL is set but PostgreSQL cannot be reached: {e}")
        })
}

/// The same server URL with another database name.
pub fn with_database(server: &str, name: &str) -> String {
    let mut url = url::Url::parse(server).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

pub struct TestApp {
    pub address: String,
    pub store: Store,
    pub client: reqwest::Client,
    /// The settings the app was built with, for the helpers that drive its loops by hand.
    pub settings: Settings,
    /// Kept so the database lives (and on PostgreSQL is dropped) with the app.
    pub _db: TestDatabase,
}

/// Starts the service on a random port with a database of its own.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.address, path))
            .send()
            .await
            .expect("request is sent")
    }

    /// The body of a page, whatever its status (tests that care check the status themselves).
    pub async fn get_html(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("a text body")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }
}

pub const ORGANISER_EMAIL: &str = "organiser@example.org";
pub const ORGANISER_PASSWORD: &str = "plenty of coffee beans";

/// The hidden CSRF field of the first form on a page.
pub fn csrf_from(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html
        .find(marker)
        .expect("the page has a form with a CSRF field")
        + marker.len();
    html[start..start + 64].to_string()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Fetches `form_page`, then posts `fields` to `action` with the page's CSRF token.
    pub async fn submit(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let html = self.get(form_page).await.text().await.unwrap();
        let csrf = csrf_from(&html);
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", csrf.as_str())];
        all.extend_from_slice(fields);
        self.client
            .post(self.url(action))
            .form(&all)
            .send()
            .await
            .expect("request is sent")
    }

    /// Creates the first organiser through the set-up link and leaves this client signed in.
    pub async fn sign_up_first_organiser(&self) {
        let base = url::Url::parse(&self.address).unwrap();
        let link = coffee_trials::app::accounts::issue_setup_link(&self.store, &base)
            .await
            .unwrap()
            .expect("no organiser exists yet");
        let path = link.strip_prefix(&self.address).unwrap().to_string();
        let response = self
            .submit(
                &path,
                &path,
                &[
                    ("email", ORGANISER_EMAIL),
                    ("password", ORGANISER_PASSWORD),
                    ("password_again", ORGANISER_PASSWORD),
                ],
            )
            .await;
        assert_eq!(response.status().as_u16(), 303, "set-up succeeds");
    }

    /// A bearer token for the JSON API, created in the console.
    pub async fn api_token(&self) -> String {
        let response = self
            .submit("/admin/tokens", "/admin/tokens", &[("name", "tests")])
            .await;
        let html = response.text().await.unwrap();
        let marker = "<code id=\"new-token\">";
        let start = html.find(marker).expect("the new token is shown once") + marker.len();
        html[start..start + 64].to_string()
    }

    pub fn anonymous_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap()
    }
}

/// Like [`spawn_app`], with settings changed first (for example lower sign-up limits).
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDatabase::create().await;
    let mut settings = Settings::from_raw(RawSettings {
        database_url: Some(db.url()),
        bind: Some("127.0.0.1:0".into()),
        outbox_dir: Some(test_outbox_dir()),
        ..Default::default()
    })
    .expect("test settings are valid");
    change(&mut settings);
    let app = Application::build(&settings)
        .await
        .expect("application builds");
    let port = app.port();
    let store = app.store().clone();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("http client");
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        store,
        client,
        settings,
        _db: db,
    }
}

/// Like [`spawn_app`], without the outbox worker and the scheduler: nothing happens in the
/// background, and a test that needs either calls [`TestApp::deliver_outbox`] or
/// [`TestApp::tick_scheduler`] when it wants them to run.
pub async fn spawn_app_without_loops() -> TestApp {
    spawn_app_with(|s| s.background_loops = false).await
}

impl TestApp {
    /// Does what the outbox worker would: sends every message due now, once each, and
    /// answers what became of them.
    pub async fn deliver_outbox(&self) -> Vec<Outcome> {
        let config = WorkerConfig::from_settings(&self.settings);
        let transport = Transport::from_settings(&self.settings, 1).expect("a transport");
        let mut outcomes = Vec::new();
        loop {
            let now = chrono::Utc::now();
            let lease_until = now + chrono::Duration::from_std(config.lease).unwrap();
            let claimed = self
                .store
                .claim_due_emails(now, lease_until, config.batch_size)
                .await
                .expect("claim due emails");
            if claimed.is_empty() {
                return outcomes;
            }
            for email in &claimed {
                outcomes.push(deliver_one(&self.store, &transport, &config, email).await);
            }
        }
    }

    /// One turn of the scheduler as of `now`: schedules first, then feedback, as in `serve`.
    pub async fn tick_scheduler(&self, now: DateTime<Utc>) -> (TickReport, FeedbackReport) {
        let base_url = &self.settings.base_url;
        let rounds = coffee_trials::app::schedule::tick(&self.store, base_url, now)
            .await
            .expect("schedule tick");
        let feedback = coffee_trials::app::feedback::tick(&self.store, base_url, now)
            .await
            .expect("feedback tick");
        (rounds, feedback)
    }
}

/// A migrated store on a database of its own, with no HTTP server and no background loops:
/// for tests of the store's functions.
pub struct TestStore {
    pub store: Store,
    /// Kept so the database lives (and on PostgreSQL is dropped) with the store.
    pub _db: TestDatabase,
}

impl TestStore {
    pub async fn new() -> Self {
        let db = TestDatabase::create().await;
        let store = migrated_store(&db).await;
        TestStore { store, _db: db }
    }
}

impl std::ops::Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

/// Brings `store` to the schema as it was before migration `version`: for tests of what a
/// migration does to rows written before it.
pub async fn migrate_before(store: &Store, version: i64) {
    let mut before = if on_postgres() {
        sqlx::migrate!("./migrations/postgres")
    } else {
        sqlx::migrate!("./migrations/sqlite")
    };
    before.migrations = std::borrow::Cow::Owned(
        before
            .migrations
            .iter()
            .filter(|m| m.version < version)
            .cloned()
            .collect(),
    );
    before
        .run(store.pool())
        .await
        .expect("the earlier migrations");
}

/// Connects to `db` and brings it to the latest schema.
pub async fn migrated_store(db: &TestDatabase) -> Store {
    let store = Store::connect(&DatabaseUrl::parse(&db.url()).expect("a database URL"))
        .await
        .expect("connect to the test database");
    store.migrate().await.expect("migrate");
    store
}

/// Where the apps of the tests write emails (the outbox worker runs in every app): outside the
/// source tree, so that a test run leaves no `outbox/` folder behind.
pub fn test_outbox_dir() -> String {
    std::env::temp_dir()
        .join("coffee-trials-test-outbox")
        .display()
        .to_string()
}

impl TestApp {
    /// Opens the login page with `client` (for its CSRF cookie) and signs in.
    pub async fn sign_in(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let html = client
            .get(self.url("/admin/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = csrf_from(&html);
        client
            .post(self.url("/admin/login"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", email),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }
}

impl TestApp {
    /// Signs up the first organiser and gives them an API token: how tests of the organisers'
    /// API begin.
    pub async fn organiser_token(&self) -> String {
        self.sign_up_first_organiser().await;
        self.api_token().await
    }

    /// Calls the organisers' API with `token` (and a JSON body when given); answers the
    /// status and the JSON answer (`Null` when there is none).
    pub async fn api_call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .anonymous_client()
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}
