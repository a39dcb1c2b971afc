use coffee_trials::app::accounts;
use serde_json::{json, Value};

use crate::helpers::{csrf_from, spawn_app, ORGANISER_EMAIL, ORGANISER_PASSWORD};

#[tokio::test]
async fn the_setup_link_creates_the_first_organiser_once() {
    let app = spawn_app().await;
    let base = url::Url::parse(&app.address).unwrap();
    let link = accounts::issue_setup_link(&app.store, &base)
        .await
        .unwrap()
        .unwrap();
    assert!(link.contains("/admin/setup/"));
    let path = link.strip_prefix(&app.address).unwrap().to_string();

    // A weak password is refused at the field and the address typed is kept.
    let weak = app
        .submit(
            &path,
            &path,
            &[
                ("email", "first@example.org"),
                ("password", "password123"),
                ("password_again", "password123"),
            ],
        )
        .await;
    assert_eq!(weak.status().as_u16(), 422);
    let html = weak.text().await.unwrap();
    assert!(html.contains("id=\"password-error\""), "{html}");
    assert!(html.contains("value=\"first@example.org\""));

    let ok = app
        .submit(
            &path,
            &path,
            &[
                ("email", "first@example.org"),
                ("password", ORGANISER_PASSWORD),
                ("password_again", ORGANISER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(ok.status().as_u16(), 303);
    let console = app.get("/admin").await;
    assert_eq!(console.status().as_u16(), 200);
    assert!(console.text().await.unwrap().contains("first@example.org"));

    // The same link a second time, and no new link once an organiser exists.
    let again = app
        .anonymous_client()
        .get(app.url(&path))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 410);
    assert!(accounts::issue_setup_link(&app.store, &base)
        .await
        .unwrap()
        .is_none());
    let stored: (String,) = sqlx::query_as("SELECT password_hash FROM organisers")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    assert!(stored.0.starts_with("$argon2id$"));
}

#[tokio::test]
async fn a_setup_link_posted_twice_creates_one_account() {
    let app = spawn_app().await;
    let base = url::Url::parse(&app.address).unwrap();
    let link = accounts::issue_setup_link(&app.store, &base)
        .await
        .unwrap()
        .unwrap();
    let path = link.strip_prefix(&app.address).unwrap().to_string();
    // Two browsers open the form; signing in gives the first a new CSRF token, so each
    // sends its own.
    let other = app.anonymous_client();
    let csrf = csrf_from(&app.get_html(&path).await);
    let other_html = other.get(app.url(&path)).send().await.unwrap().text().await;
    let other_csrf = csrf_from(&other_html.unwrap());
    let form = |csrf: &String, email: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("email", email.to_string()),
            ("password", ORGANISER_PASSWORD.to_string()),
            ("password_again", ORGANISER_PASSWORD.to_string()),
        ]
    };
    let first = app
        .client
        .post(app.url(&path))
        .form(&form(&csrf, "a@example.org"))
        .send()
        .await
        .unwrap();
    let second = other
        .post(app.url(&path))
        .form(&form(&other_csrf, "b@example.org"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 303);
    assert_eq!(second.status().as_u16(), 410);
    assert_eq!(app.store.count_organisers().await.unwrap(), 1);
}

#[tokio::test]
async fn login_failures_do_not_say_whether_the_account_exists() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let visitor = app.anonymous_client();
    let wrong_password = app
        .sign_in(&visitor, ORGANISER_EMAIL, "not the password at all")
        .await;
    let no_account = app
        .sign_in(&visitor, "nobody@example.org", "not the password at all")
        .await;
    assert_eq!(wrong_password.status().as_u16(), 401);
    assert_eq!(no_account.status().as_u16(), 401);
    let message = |html: String| {
        let start = html.find("id=\"login-error\">").unwrap();
        html[start..start + 90].to_string()
    };
    assert_eq!(
        message(wrong_password.text().await.unwrap()),
        message(no_account.text().await.unwrap())
    );

    let right = app
        .sign_in(&visitor, ORGANISER_EMAIL, ORGANISER_PASSWORD)
        .await;
    assert_eq!(right.status().as_u16(), 303);
    assert_eq!(right.headers()["location"], "/admin");
    let cookie = right
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("ct_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
}

#[tokio::test]
async fn repeated_failures_from_one_address_must_wait() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let visitor = app.anonymous_client();
    let mut last = 0;
    for _ in 0..6 {
        last = app
            .sign_in(&visitor, ORGANISER_EMAIL, "a wrong guess here")
            .await
            .status()
            .as_u16();
    }
    assert_eq!(last, 429);
    // Even the right password, from the same address, waits until the back-off has passed.
    let right = app
        .sign_in(&visitor, ORGANISER_EMAIL, ORGANISER_PASSWORD)
        .await;
    assert_eq!(right.status().as_u16(), 429);
    assert!(right.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let browser = app.anonymous_client();
    let signed_in = app
        .sign_in(&browser, ORGANISER_EMAIL, ORGANISER_PASSWORD)
        .await;
    // Keep a copy of the session cookie, as someone who had stolen it would.
    let stolen = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("ct_session="))
        .unwrap();
    let stolen = stolen.split(';').next().unwrap().to_string();
    let with_stolen = || {
        app.anonymous_client()
            .get(app.url("/admin"))
            .header("cookie", stolen.clone())
            .send()
    };
    assert_eq!(with_stolen().await.unwrap().status().as_u16(), 200);

    let console = browser
        .get(app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_from(&console);
    let out = browser
        .post(app.url("/admin/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    assert_eq!(
        browser
            .get(app.url("/admin"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        303
    );
    assert_eq!(
        with_stolen().await.unwrap().status().as_u16(),
        303,
        "the copied cookie no longer opens the console"
    );
}

#[tokio::test]
async fn a_tampered_session_cookie_is_refused() {
    let app = spawn_app().await;
    let token = coffee_trials::tokens::new_token();
    let response = app
        .anonymous_client()
        .get(app.url("/admin"))
        .header("cookie", format!("ct_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
}

#[tokio::test]
async fn a_form_post_without_its_csrf_token_is_refused() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let forged = app
        .client
        .post(app.url("/admin/trials"))
        .form(&[("name", "Forged"), ("slug", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let wrong = app
        .client
        .post(app.url("/admin/trials"))
        .form(&[
            ("csrf_token", "0".repeat(64).as_str()),
            ("name", "Forged"),
            ("slug", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 403);
    assert!(app.store.find_trial("forged").await.unwrap().is_none());
}

#[tokio::test]
async fn api_tokens_work_until_revoked() {
    let app = spawn_app().await;
    let token = app.organiser_token().await;
    let api = app.anonymous_client();
    let call = || {
        api.get(app.url("/api/v1/trials"))
            .bearer_auth(&token)
            .send()
    };
    assert_eq!(call().await.unwrap().status().as_u16(), 200);
    let stored: (String, Option<String>) =
        sqlx::query_as("SELECT token_hash, last_used_at FROM api_tokens")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_ne!(stored.0, token, "only a hash is stored");
    assert!(stored.1.is_some(), "last use is recorded");

    let page = app.get_html("/admin/tokens").await;
    assert!(!page.contains(&token), "the token is shown only once");
    let id: (i64,) = sqlx::query_as("SELECT id FROM api_tokens")
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    let revoke = app
        .submit(
            "/admin/tokens",
            &format!("/admin/tokens/{}/revoke", id.0),
            &[],
        )
        .await;
    assert_eq!(revoke.status().as_u16(), 303);
    let refused = call().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].is_string());
}

/// Every organiser route, as registered in web::admin::routes. Anonymous requests to each must
/// be refused: the console redirects to the login page, the API answers 401 in JSON.
const ORGANISER_ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin"),
    ("GET", "/admin/trials/new"),
    ("POST", "/admin/trials"),
    ("GET", "/admin/trials/some-trial"),
    ("POST", "/admin/trials/some-trial"),
    ("GET", "/admin/tokens"),
    ("POST", "/admin/tokens"),
    ("POST", "/admin/tokens/1/revoke"),
    ("GET", "/admin/organisers/invite"),
    ("POST", "/admin/organisers/invite"),
    ("GET", "/admin/outbox"),
    ("POST", "/admin/outbox/1/retry"),
    ("POST", "/admin/outbox/retry-failed"),
    ("GET", "/admin/trials/some-trial/rounds"),
    ("POST", "/admin/trials/some-trial/rounds"),
    ("GET", "/admin/trials/some-trial/rounds/1"),
    ("POST", "/admin/trials/some-trial/rounds/1/reshuffle"),
    ("POST", "/admin/trials/some-trial/rounds/1/swap"),
    ("POST", "/admin/trials/some-trial/rounds/1/publish"),
    ("POST", "/admin/trials/some-trial/rounds/1/discard"),
    ("GET", "/admin/trials/some-trial/event"),
    ("POST", "/admin/trials/some-trial/event/people/abc/check-in"),
    ("POST", "/admin/trials/some-trial/event/people/abc/left"),
    ("POST", "/admin/trials/some-trial/event/rounds"),
    ("POST", "/admin/trials/some-trial/event/summaries"),
    ("GET", "/admin/trials/some-trial/display"),
    ("GET", "/api/v1/trials/some-trial/rounds"),
    ("POST", "/api/v1/trials/some-trial/rounds"),
    ("GET", "/api/v1/trials/some-trial/rounds/1"),
    ("POST", "/api/v1/trials/some-trial/rounds/1/reshuffle"),
    ("POST", "/api/v1/trials/some-trial/rounds/1/swap"),
    ("POST", "/api/v1/trials/some-trial/rounds/1/publish"),
    ("GET", "/admin/techniques"),
    ("GET", "/admin/techniques/new"),
    ("POST", "/admin/techniques"),
    ("GET", "/admin/techniques/peer-assist"),
    ("POST", "/admin/techniques/peer-assist"),
    ("GET", "/api/v1/trials"),
    ("POST", "/api/v1/trials"),
    ("GET", "/api/v1/trials/some-trial"),
    ("PUT", "/api/v1/trials/some-trial"),
    ("GET", "/admin/trials/some-trial/participants"),
    ("GET", "/admin/trials/some-trial/participants.csv"),
    ("GET", "/admin/trials/some-trial/participants/abc"),
    ("POST", "/admin/trials/some-trial/participants/abc/pause"),
    ("POST", "/admin/trials/some-trial/participants/abc/resume"),
    ("POST", "/admin/trials/some-trial/participants/abc/remove"),
    ("GET", "/admin/trials/some-trial/import"),
    ("POST", "/admin/trials/some-trial/import"),
    ("GET", "/admin/trials/some-trial/import/abc"),
    ("POST", "/admin/trials/some-trial/import/abc"),
    ("GET", "/api/v1/trials/some-trial/participants"),
    ("POST", "/api/v1/trials/some-trial/participants"),
    ("GET", "/api/v1/trials/some-trial/participants/abc"),
    ("POST", "/api/v1/trials/some-trial/participants/abc/pause"),
    ("POST", "/api/v1/trials/some-trial/participants/abc/resume"),
    ("POST", "/api/v1/trials/some-trial/participants/abc/remove"),
    ("GET", "/admin/trials/some-trial/dashboard"),
    ("GET", "/admin/trials/some-trial/pairings.csv"),
    ("GET", "/admin/trials/some-trial/feedback.csv"),
    ("GET", "/api/v1/trials/some-trial/pairings"),
    ("GET", "/api/v1/trials/some-trial/feedback"),
];

#[tokio::test]
async fn every_organiser_route_refuses_anonymous_users() {
    let app = spawn_app().await;
    let visitor = app.anonymous_client();
    // A CSRF cookie and token, so that POSTs reach the access check rather than stopping at CSRF.
    let csrf = csrf_from(
        &visitor
            .get(app.url("/admin/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    for (method, path) in ORGANISER_ROUTES {
        let request = visitor.request(method.parse().unwrap(), app.url(path));
        let request = if path.starts_with("/api/") {
            request.json(&json!({}))
        } else {
            request.form(&[("csrf_token", csrf.as_str())])
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        if path.starts_with("/api/") {
            assert_eq!(status, 401, "{method} {path}");
            let body: Value = response.json().await.unwrap();
            assert!(body["error"].is_string(), "{method} {path}");
        } else {
            assert_eq!(status, 303, "{method} {path}");
            let location = response.headers()["location"].to_str().unwrap();
            assert!(
                location.starts_with("/admin/login"),
                "{method} {path} -> {location}"
            );
        }
    }
}

#[tokio::test]
async fn invitations_go_through_the_outbox_and_create_an_account() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let sent = app
        .submit(
            "/admin/organisers/invite",
            "/admin/organisers/invite",
            &[("email", "Second@Example.org")],
        )
        .await;
    assert_eq!(sent.status().as_u16(), 200);
    let outbox = app.store.list_outbox(10).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].to_address, "second@example.org");
    let body = &outbox[0].body_text;
    let start = body.find("/admin/invite/").unwrap();
    let path = body[start..start + "/admin/invite/".len() + 64].to_string();
    assert!(outbox[0].body_html.contains(&path));

    let newcomer = app.anonymous_client();
    let html = newcomer
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("second@example.org") && html.contains("readonly"));
    let csrf = csrf_from(&html);
    let created = newcomer
        .post(app.url(&path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "someone-else@example.org"),
            ("password", ORGANISER_PASSWORD),
            ("password_again", ORGANISER_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 303);
    assert!(app
        .store
        .find_organiser_by_email("second@example.org")
        .await
        .unwrap()
        .is_some());
    assert!(app
        .store
        .find_organiser_by_email("someone-else@example.org")
        .await
        .unwrap()
        .is_none());
}
