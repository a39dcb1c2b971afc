//! Organiser accounts: disabling and enabling, password reset, roles and trial grants, API
//! token expiry, and fresh session and CSRF values at sign-in.
use coffee_trials::app::accounts;
use serde_json::{json, Value};

use crate::helpers::{csrf_from, spawn_app, TestApp, ORGANISER_EMAIL, ORGANISER_PASSWORD};

const OTHER_PASSWORD: &str = "another pot of tea please";

/// Invites `email` (as admin or organiser), creates the account through the link with a new
/// client, and returns that client, signed in.
pub async fn add_organiser(app: &TestApp, email: &str, admin: bool) -> reqwest::Client {
    let base = url::Url::parse(&app.address).unwrap();
    let link = accounts::invite_organiser(&app.store, &base, email, admin)
        .await
        .unwrap();
    let path = link.strip_prefix(&app.address).unwrap().to_string();
    let client = app.anonymous_client();
    let html = client
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let created = client
        .post(app.url(&path))
        .form(&[
            ("csrf_token", csrf_from(&html).as_str()),
            ("password", OTHER_PASSWORD),
            ("password_again", OTHER_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 303, "account created");
    client
}

/// A CSRF token for `client`'s forms (from a page it can open).
pub async fn csrf_of(app: &TestApp, client: &reqwest::Client, page: &str) -> String {
    let html = client
        .get(app.url(page))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    csrf_from(&html)
}

/// Creates an API token in the console with `client` and returns it.
pub async fn token_of(app: &TestApp, client: &reqwest::Client) -> String {
    let csrf = csrf_of(app, client, "/admin/tokens").await;
    let html = client
        .post(app.url("/admin/tokens"))
        .form(&[("csrf_token", csrf.as_str()), ("name", "script")])
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

async fn organiser_id(app: &TestApp, email: &str) -> i64 {
    app.store
        .find_organiser_summary(email)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn status_of(client: &reqwest::Client, url: String) -> u16 {
    client.get(url).send().await.unwrap().status().as_u16()
}

async fn api_status(app: &TestApp, token: &str, path: &str) -> u16 {
    app.anonymous_client()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn disabling_ends_sessions_and_tokens_at_once_and_enabling_lets_them_sign_in_again() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let bea = add_organiser(&app, "bea@example.org", false).await;
    let bea_token = token_of(&app, &bea).await;
    assert_eq!(status_of(&bea, app.url("/admin")).await, 200);
    assert_eq!(api_status(&app, &bea_token, "/api/v1/trials").await, 200);

    let id = organiser_id(&app, "bea@example.org").await;
    let disabled = app
        .submit(
            "/admin/organisers",
            &format!("/admin/organisers/{id}/disable"),
            &[],
        )
        .await;
    assert_eq!(disabled.status().as_u16(), 303);

    // The very next requests with the old cookie and the old token are refused.
    assert_eq!(status_of(&bea, app.url("/admin")).await, 303);
    assert_eq!(api_status(&app, &bea_token, "/api/v1/trials").await, 401);
    let (sessions,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE organiser_id = $1")
            .bind(id)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(sessions, 0);
    let list = app.get_html("/admin/organisers").await;
    assert!(list.contains("bea@example.org"), "{list}");
    assert!(list.contains("disabled"), "{list}");
    let refused = app.sign_in(&bea, "bea@example.org", OTHER_PASSWORD).await;
    assert_eq!(refused.status().as_u16(), 401);

    let enabled = app
        .submit(
            "/admin/organisers",
            &format!("/admin/organisers/{id}/enable"),
            &[],
        )
        .await;
    assert_eq!(enabled.status().as_u16(), 303);
    let back = app.sign_in(&bea, "bea@example.org", OTHER_PASSWORD).await;
    assert_eq!(back.status().as_u16(), 303);
    assert_eq!(status_of(&bea, app.url("/admin")).await, 200);
    // A token revoked by disabling stays revoked.
    assert_eq!(api_status(&app, &bea_token, "/api/v1/trials").await, 401);
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_be_disabled() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let me = organiser_id(&app, ORGANISER_EMAIL).await;
    let refused = app
        .submit(
            "/admin/organisers",
            &format!("/admin/organisers/{me}/disable"),
            &[],
        )
        .await;
    assert_eq!(refused.status().as_u16(), 409);
    assert!(refused.text().await.unwrap().contains("organisers-error"));
    assert_eq!(
        app.get("/admin").await.status().as_u16(),
        200,
        "still signed in"
    );

    // With a second admin, the first may step down.
    let _second = add_organiser(&app, "second-admin@example.org", true).await;
    let done = app
        .submit(
            "/admin/organisers",
            &format!("/admin/organisers/{me}/disable"),
            &[],
        )
        .await;
    assert_eq!(done.status().as_u16(), 303);
    assert_eq!(app.get("/admin").await.status().as_u16(), 303);
}

#[tokio::test]
async fn organisers_cannot_manage_accounts_outbox_or_the_technique_library() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let bea = add_organiser(&app, "bea@example.org", false).await;
    for page in [
        "/admin/organisers",
        "/admin/organisers/invite",
        "/admin/outbox",
        "/admin/techniques",
        "/admin/techniques/new",
    ] {
        assert_eq!(status_of(&bea, app.url(page)).await, 403, "{page}");
        assert_eq!(
            app.get(page).await.status().as_u16(),
            200,
            "admin opens {page}"
        );
    }
    let admin_id = organiser_id(&app, ORGANISER_EMAIL).await;
    let csrf = csrf_of(&app, &bea, "/admin/tokens").await;
    let attempt = bea
        .post(app.url(&format!("/admin/organisers/{admin_id}/disable")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(attempt.status().as_u16(), 403);
    assert_eq!(
        app.get("/admin").await.status().as_u16(),
        200,
        "admin not disabled"
    );
}

/// The reset link in the newest password-reset email to `to`.
async fn reset_link_sent_to(app: &TestApp, to: &str) -> Option<String> {
    let outbox = app.store.list_outbox(50).await.unwrap();
    let email = outbox
        .iter()
        .find(|e| e.template == "password_reset" && e.to_address == to)?;
    let at = email.body_text.find("/admin/reset/")?;
    Some(email.body_text[at..at + "/admin/reset/".len() + 64].to_string())
}

async fn ask_for_reset(app: &TestApp, client: &reqwest::Client, email: &str) -> (u16, String) {
    let csrf = csrf_of(app, client, "/admin/forgot").await;
    let response = client
        .post(app.url("/admin/forgot"))
        .form(&[("csrf_token", csrf.as_str()), ("email", email)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn a_forgotten_password_is_reset_once_through_the_emailed_link() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let other_device = app.anonymous_client();
    assert_eq!(
        app.sign_in(&other_device, ORGANISER_EMAIL, ORGANISER_PASSWORD)
            .await
            .status()
            .as_u16(),
        303
    );
    assert!(app.get_html("/admin/login").await.contains("/admin/forgot"));

    // Known and unknown addresses get the same page; only the known one gets an email.
    let visitor = app.anonymous_client();
    let (known_status, known) = ask_for_reset(&app, &visitor, ORGANISER_EMAIL).await;
    let (unknown_status, unknown) = ask_for_reset(&app, &visitor, "nobody@example.org").await;
    assert_eq!((known_status, unknown_status), (200, 200));
    assert!(known.contains("reset-sent"), "{known}");
    let with_address_hidden = |html: &str, email: &str| html.replace(email, "ADDRESS");
    assert_eq!(
        with_address_hidden(&known, ORGANISER_EMAIL),
        with_address_hidden(&unknown, "nobody@example.org")
    );
    assert!(reset_link_sent_to(&app, "nobody@example.org")
        .await
        .is_none());
    // Asking again at once answers the same but sends no second email.
    let (_, repeated) = ask_for_reset(&app, &visitor, ORGANISER_EMAIL).await;
    assert_eq!(repeated, known);
    let outbox = app.store.list_outbox(50).await.unwrap();
    let resets = outbox.iter().filter(|e| e.template == "password_reset");
    assert_eq!(resets.count(), 1);
    let link = reset_link_sent_to(&app, ORGANISER_EMAIL)
        .await
        .expect("a reset email was queued");
    let token = link.rsplit('/').next().unwrap();
    let (stored,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM one_time_tokens WHERE token_hash = $1")
            .bind(token)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(stored, 0, "only the hash of the token is stored");

    // Opening the link twice changes nothing.
    assert_eq!(status_of(&visitor, app.url(&link)).await, 200);
    let html = visitor
        .get(app.url(&link))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(ORGANISER_EMAIL));
    let csrf = csrf_from(&html);
    let post = |password: &'static str, again: &'static str| {
        visitor
            .post(app.url(&link))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("password", password),
                ("password_again", again),
            ])
            .send()
    };
    let weak = post("password123", "password123").await.unwrap();
    assert_eq!(weak.status().as_u16(), 422);
    assert!(weak.text().await.unwrap().contains("id=\"password-error\""));
    let new_password = "a brand new grinder setting";
    let done = post(new_password, new_password).await.unwrap();
    assert_eq!(done.status().as_u16(), 303);

    // This browser is signed in; every other session of the account has ended.
    assert_eq!(status_of(&visitor, app.url("/admin")).await, 200);
    assert_eq!(app.get("/admin").await.status().as_u16(), 303);
    assert_eq!(status_of(&other_device, app.url("/admin")).await, 303);

    // The link works once; the old password no longer works, the new one does.
    assert_eq!(status_of(&visitor, app.url(&link)).await, 410);
    // (Signing in gave this browser a new CSRF token, so the form is sent with that one.)
    let csrf_now = csrf_of(&app, &visitor, "/admin/login").await;
    let again = visitor
        .post(app.url(&link))
        .form(&[
            ("csrf_token", csrf_now.as_str()),
            ("password", new_password),
            ("password_again", new_password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 410);
    let fresh = app.anonymous_client();
    assert_eq!(
        app.sign_in(&fresh, ORGANISER_EMAIL, ORGANISER_PASSWORD)
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        app.sign_in(&fresh, ORGANISER_EMAIL, new_password)
            .await
            .status()
            .as_u16(),
        303
    );
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let base = url::Url::parse(&app.address).unwrap();
    let link = accounts::request_password_reset(&app.store, &base, ORGANISER_EMAIL, false)
        .await
        .unwrap()
        .unwrap();
    let path = link.strip_prefix(&app.address).unwrap().to_string();
    let (created, expires): (String, String) = sqlx::query_as(
        "SELECT created_at, expires_at FROM one_time_tokens WHERE purpose = 'reset'",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    let lifetime = chrono::DateTime::parse_from_rfc3339(&expires).unwrap()
        - chrono::DateTime::parse_from_rfc3339(&created).unwrap();
    assert!(
        (3590..=3600).contains(&lifetime.num_seconds()),
        "{lifetime}"
    );
    assert_eq!(app.get(&path).await.status().as_u16(), 200);

    // An hour later (moved back in the database rather than waited for).
    sqlx::query("UPDATE one_time_tokens SET expires_at = $1 WHERE purpose = 'reset'")
        .bind((chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339())
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(app.get(&path).await.status().as_u16(), 410);
    let csrf = csrf_of(&app, &app.client, "/admin/login").await;
    let late = app
        .client
        .post(app.url(&path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("password", "a brand new grinder setting"),
            ("password_again", "a brand new grinder setting"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(late.status().as_u16(), 410);
}

#[tokio::test]
async fn the_session_id_and_csrf_token_change_at_sign_in() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let client = app.anonymous_client();
    let cookie_value = |response: &reqwest::Response, name: &str| {
        response
            .cookies()
            .find(|c| c.name() == name)
            .map(|c| c.value().to_string())
    };
    let page = client.get(app.url("/admin/login")).send().await.unwrap();
    let csrf_before = cookie_value(&page, "ct_csrf").expect("a CSRF cookie");
    let signed_in = app
        .sign_in(&client, ORGANISER_EMAIL, ORGANISER_PASSWORD)
        .await;
    assert_eq!(signed_in.status().as_u16(), 303);
    let csrf_after = cookie_value(&signed_in, "ct_csrf").expect("a new CSRF cookie");
    let session_first = cookie_value(&signed_in, "ct_session").expect("a session cookie");
    assert_ne!(csrf_before, csrf_after);
    // The old token no longer passes; the new one does.
    let stale = client
        .post(app.url("/admin/tokens"))
        .form(&[("csrf_token", csrf_before.as_str()), ("name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 403);
    assert_eq!(csrf_of(&app, &client, "/admin/tokens").await, csrf_after);

    let again = app
        .sign_in(&client, ORGANISER_EMAIL, ORGANISER_PASSWORD)
        .await;
    let session_second = cookie_value(&again, "ct_session").expect("a session cookie");
    assert_ne!(session_first, session_second);
}

#[tokio::test]
async fn api_tokens_stop_working_after_their_last_day() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;

    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let refused = app
        .submit(
            "/admin/tokens",
            "/admin/tokens",
            &[("name", "old job"), ("expires_on", yesterday.as_str())],
        )
        .await;
    assert_eq!(refused.status().as_u16(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("id=\"expires_on-error\""), "{html}");
    assert!(html.contains("value=\"old job\""), "the name is kept");

    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let created = app
        .submit(
            "/admin/tokens",
            "/admin/tokens",
            &[("name", "short job"), ("expires_on", today.as_str())],
        )
        .await
        .text()
        .await
        .unwrap();
    let marker = "<code id=\"new-token\">";
    let start = created.find(marker).expect("token shown") + marker.len();
    let token = created[start..start + 64].to_string();
    assert_eq!(api_status(&app, &token, "/api/v1/trials").await, 200);

    // Its last day passes (moved in the database rather than waited for).
    sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE name = 'short job'")
        .bind((chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339())
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(api_status(&app, &token, "/api/v1/trials").await, 401);
}

async fn create_trial(app: &TestApp, token: &str, slug: &str) {
    let created = app
        .anonymous_client()
        .post(app.url("/api/v1/trials"))
        .bearer_auth(token)
        .json(&json!({"name": format!("Trial {slug}"), "slug": slug}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201, "{:?}", created.text().await);
}

async fn listed_slugs(app: &TestApp, token: &str) -> Vec<String> {
    let list: Value = app
        .anonymous_client()
        .get(app.url("/api/v1/trials"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut slugs: Vec<String> = list["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap().to_string())
        .collect();
    slugs.sort();
    slugs
}

#[tokio::test]
async fn organisers_see_only_the_trials_they_created_or_were_given() {
    let app = spawn_app().await;
    let admin_token = app.organiser_token().await;
    create_trial(&app, &admin_token, "admins-trial").await;
    let bea = add_organiser(&app, "bea@example.org", false).await;
    let bea_token = token_of(&app, &bea).await;
    create_trial(&app, &bea_token, "beas-trial").await;

    assert_eq!(listed_slugs(&app, &bea_token).await, ["beas-trial"]);
    assert_eq!(
        listed_slugs(&app, &admin_token).await,
        ["admins-trial", "beas-trial"]
    );
    let index = bea
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        index.contains("beas-trial") && !index.contains("admins-trial"),
        "{index}"
    );
    assert_eq!(
        api_status(&app, &bea_token, "/api/v1/trials/admins-trial").await,
        404
    );
    assert_eq!(
        status_of(&bea, app.url("/admin/trials/admins-trial")).await,
        404
    );

    // An admin gives access through the API; then it is listed and opens.
    let put = |token: &str, emails: Value| {
        app.anonymous_client()
            .put(app.url("/api/v1/trials/admins-trial/organisers"))
            .bearer_auth(token)
            .json(&json!({ "organisers": emails }))
            .send()
    };
    let unknown = put(&admin_token, json!(["nobody@example.org"]))
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 422);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["field"], "organisers");
    let granted = put(&admin_token, json!(["bea@example.org"])).await.unwrap();
    assert_eq!(granted.status().as_u16(), 200);
    assert_eq!(
        listed_slugs(&app, &bea_token).await,
        ["admins-trial", "beas-trial"]
    );
    assert_eq!(
        api_status(&app, &bea_token, "/api/v1/trials/admins-trial").await,
        200
    );
    // Giving access is for admins, even on a trial one may manage.
    let by_bea = put(&bea_token, json!([])).await.unwrap();
    assert_eq!(by_bea.status().as_u16(), 403);

    // Taken away again on the trial's console page.
    let taken = app
        .submit(
            "/admin/trials/admins-trial/organisers",
            "/admin/trials/admins-trial/organisers",
            &[("email", "bea@example.org"), ("action", "revoke")],
        )
        .await;
    assert_eq!(taken.status().as_u16(), 303);
    assert_eq!(listed_slugs(&app, &bea_token).await, ["beas-trial"]);
    assert_eq!(
        status_of(&bea, app.url("/admin/trials/admins-trial")).await,
        404
    );
}

#[tokio::test]
async fn the_first_account_is_an_admin_and_invitations_choose_the_role() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let _o = add_organiser(&app, "plain@example.org", false).await;
    let _a = add_organiser(&app, "boss@example.org", true).await;
    let role = |email: &'static str| {
        let store = app.store.clone();
        async move {
            store
                .find_organiser_summary(email)
                .await
                .unwrap()
                .unwrap()
                .is_admin()
        }
    };
    assert!(
        role(ORGANISER_EMAIL).await,
        "the set-up account is an admin"
    );
    assert!(!role("plain@example.org").await);
    assert!(role("boss@example.org").await);
    // The console's invitation form has the box.
    assert!(app
        .get_html("/admin/organisers/invite")
        .await
        .contains("name=\"admin\""));
}

fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_coffee-trials"))
        .args(args)
        .env("DATABASE_URL", app._db.url())
        .env("BASE_URL", &app.address)
        .env_remove("SMTP_URL")
        .env_remove("BIND")
        .output()
        .expect("the binary runs")
}

#[tokio::test]
async fn the_command_line_lists_disables_enables_and_prints_a_reset_link() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let bea = add_organiser(&app, "bea@example.org", false).await;

    let list = cli(&app, &["organiser", "list"]);
    assert!(list.status.success(), "{list:?}");
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    assert!(
        listed.contains("bea@example.org\torganiser\tenabled"),
        "{listed}"
    );
    assert!(
        listed.contains(&format!("{ORGANISER_EMAIL}\tadmin\tenabled")),
        "{listed}"
    );

    let disable = cli(&app, &["organiser", "disable", "bea@example.org"]);
    assert!(disable.status.success(), "{disable:?}");
    assert_eq!(status_of(&bea, app.url("/admin")).await, 303);
    let last_admin = cli(&app, &["organiser", "disable", ORGANISER_EMAIL]);
    assert!(!last_admin.status.success());
    assert!(String::from_utf8_lossy(&last_admin.stderr).contains("last enabled admin"));
    let enable = cli(&app, &["organiser", "enable", "bea@example.org"]);
    assert!(enable.status.success(), "{enable:?}");
    assert_eq!(
        app.sign_in(&bea, "bea@example.org", OTHER_PASSWORD)
            .await
            .status()
            .as_u16(),
        303
    );

    // Without SMTP_URL the reset link is printed, and it opens the form.
    let reset = cli(&app, &["organiser", "reset", "bea@example.org"]);
    assert!(reset.status.success(), "{reset:?}");
    let printed = String::from_utf8_lossy(&reset.stdout).to_string();
    let at = printed.find("/admin/reset/").expect("a link is printed");
    let path = printed[at..].trim().to_string();
    let form = app
        .anonymous_client()
        .get(app.url(&path))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 200);
    assert!(form.text().await.unwrap().contains("bea@example.org"));
    let unknown = cli(&app, &["organiser", "reset", "nobody@example.org"]);
    assert!(!unknown.status.success());
}

#[tokio::test]
async fn accounts_that_existed_before_roles_become_admins() {
    use coffee_trials::config::DatabaseUrl;
    use coffee_trials::store::Store;

    let db = crate::helpers::TestDatabase::create().await;
    let store = Store::connect(&DatabaseUrl::parse(&db.url()).unwrap())
        .await
        .unwrap();
    // The schema as it was before roles, with one account in it.
    crate::helpers::migrate_before(&store, 11).await;
    sqlx::query(
        "INSERT INTO organisers (email, password_hash, created_at) VALUES ('old@example.org', 'x', '2026-01-01T00:00:00Z')",
    )
    .execute(store.pool())
    .await
    .unwrap();

    store.migrate().await.unwrap();
    let old = store
        .find_organiser_summary("old@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(old.is_admin());
}
