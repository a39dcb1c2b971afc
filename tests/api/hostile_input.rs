//! Input an attacker (or a broken client) sends: NUL bytes and other control characters in
//! forms, queries, JSON and CSV; bytes that are not UTF-8; a `next` that leaves the site;
//! addresses the mailer cannot use; many sign-ups for one mailbox; invisible characters in
//! names; trial settings out of range. Each gets a clear 4xx answer naming the field, never a
//! 500, and nothing is stored. Run on PostgreSQL too: it refuses NUL in text where SQLite
//! stores it.
use chrono::Utc;
use coffee_trials::domain::{TrialInput, TrialSettings};
use serde_json::{json, Value};

use crate::helpers::{csrf_from, spawn_app, spawn_app_with, TestApp};

async fn open_trial(app: &TestApp, slug: &str) {
    let input = TrialInput {
        name: format!("Coffee at {slug}"),
        slug: slug.into(),
        ..Default::default()
    };
    app.store
        .create_trial(&TrialSettings::try_from(&input).unwrap(), Utc::now())
        .await
        .unwrap();
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    n
}

async fn csrf_of(app: &TestApp, page: &str) -> String {
    csrf_from(&app.get_html(page).await)
}

/// Posts an already encoded form body, as a client that does not encode for us would.
async fn post_raw_form(app: &TestApp, path: &str, body: String) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn sign_up_form(app: &TestApp, slug: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let page = format!("/t/{slug}");
    let mut all = vec![("consent", "yes")];
    all.extend_from_slice(fields);
    app.submit(&page, &page, &all).await
}

async fn sign_up_api(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/public/signups"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON error"))
}

/// Uploads a CSV file as the console's import form does.
async fn upload_csv(app: &TestApp, slug: &str, bytes: &[u8]) -> reqwest::Response {
    let form = format!("/admin/trials/{slug}/import");
    let csrf = csrf_of(app, &form).await;
    let boundary = "----hostile-input-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    app.client
        .post(app.url(&format!("{form}?csrf_token={csrf}")))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn hostile_nul_in_a_form_query_json_or_csv_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let token = app.api_token().await;
    open_trial(&app, "ward-7").await;

    // A form field (reqwest encodes the NUL as %00).
    let response = sign_up_form(
        &app,
        "ward-7",
        &[("name", "Ada\0"), ("email", "ada@example.org")],
    )
    .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("&#34;name&#34;") || html.contains("\"name\""),
        "{html}"
    );
    assert!(html.contains("NUL"), "{html}");

    // The sign-in form's address goes straight to a query.
    let csrf = csrf_of(&app, "/admin/login").await;
    let response = post_raw_form(
        &app,
        "/admin/login",
        format!("csrf_token={csrf}&email=a%00%40example.org&password=x"),
    )
    .await;
    assert_eq!(response.status().as_u16(), 422);
    assert!(response.text().await.unwrap().contains("email"));

    // Query strings, public and behind the console.
    for path in [
        "/admin/login?next=%2Fadmin%00",
        "/admin/trials/ward-7/participants?search=ada%00",
        "/t/ward-7?x=%00",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), 422, "{path}");
    }

    // JSON strings, in a field and in the field that names the trial to look up.
    for (body, field) in [
        (
            json!({ "trial": "ward-7", "name": "Ada\u{0}", "email": "ada@example.org", "consent": true }),
            "name",
        ),
        (
            json!({ "trial": "ward-7\u{0}", "name": "Ada", "email": "ada@example.org", "consent": true }),
            "trial",
        ),
        (
            json!({ "trial": "ward-7", "name": "Ada", "email": "ada@example.org", "consent": true, "meeting_modes": ["video", "ph\u{0}one"] }),
            "meeting_modes.1",
        ),
    ] {
        let (status, error) = error_of(sign_up_api(&app, body).await).await;
        assert_eq!(status, 422, "{field}");
        assert_eq!(error["field"], field);
        assert!(error["error"].as_str().unwrap().contains("NUL"));
    }
    let response = app
        .anonymous_client()
        .post(app.url("/api/v1/trials"))
        .bearer_auth(&token)
        .json(&json!({ "name": "Lunch", "slug": "lunch", "description": "a\u{0}b" }))
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!(
        (status, error["field"].as_str()),
        (422, Some("description"))
    );

    // A CSV cell: the whole file is refused, with the row and column.
    let response = upload_csv(
        &app,
        "ward-7",
        b"name,email,notes\nAda,ada@example.org,fine\nBob,bob@example.org,x\0y\n",
    )
    .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("row 3"), "{html}");
    assert!(html.contains("notes"), "{html}");

    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_batches").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM participants").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM trials").await, 1);
}

#[tokio::test]
async fn hostile_bytes_that_are_not_utf8_in_a_form_are_a_422_naming_the_field() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    open_trial(&app, "ward-7").await;

    let csrf = csrf_of(&app, "/t/ward-7").await;
    let response = post_raw_form(
        &app,
        "/t/ward-7",
        format!(
            "csrf_token={csrf}&name=Ada&email=ada%40example.org&introduction=caf%E9&consent=yes"
        ),
    )
    .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("introduction"), "{html}");
    assert!(html.contains("not UTF-8"), "{html}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM participants").await, 0);

    let csrf = csrf_of(&app, "/admin/trials/ward-7").await;
    let response = post_raw_form(
        &app,
        "/admin/trials/ward-7",
        format!("csrf_token={csrf}&name=Renamed&slug=ward-7&description=%C3%28"),
    )
    .await;
    assert_eq!(response.status().as_u16(), 422);
    assert!(response.text().await.unwrap().contains("description"));
    let trial = app.store.find_trial("ward-7").await.unwrap().unwrap();
    assert_eq!(trial.name, "Coffee at ward-7", "nothing was saved");

    // Correctly encoded text outside ASCII is, of course, fine.
    let csrf = csrf_of(&app, "/t/ward-7").await;
    let response = post_raw_form(
        &app,
        "/t/ward-7",
        format!("csrf_token={csrf}&name=Zo%C3%AB&email=zoe%40example.org&introduction=caf%C3%A9&consent=yes"),
    )
    .await;
    assert_eq!(response.status().as_u16(), 303, "signed up");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM participants").await, 1);
}

#[tokio::test]
async fn hostile_next_after_sign_in_only_leads_into_the_console() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let sessions_before = count(&app, "SELECT COUNT(*) FROM sessions").await;
    for (next, expected) in [
        ("/admin\r\nSet-Cookie: stolen=1", "/admin"),
        ("/admin/trials\n", "/admin"),
        ("//evil.example/admin", "/admin"),
        ("/\\evil.example", "/admin"),
        ("https://evil.example/admin", "/admin"),
        ("/admin/trials/new", "/admin/trials/new"),
    ] {
        let client = app.anonymous_client();
        let csrf = csrf_from(
            &client
                .get(app.url("/admin/login"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
        let response = client
            .post(app.url("/admin/login"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", crate::helpers::ORGANISER_EMAIL),
                ("password", crate::helpers::ORGANISER_PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "{next:?}");
        assert_eq!(response.headers()["location"], expected, "{next:?}");
        assert!(
            !response.headers().contains_key("set-cookie")
                || !response.headers()["set-cookie"]
                    .to_str()
                    .unwrap()
                    .contains("stolen")
        );
        // The session works: the sign-in did its job.
        let page = client.get(app.url("/admin")).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 200, "{next:?}");
    }
    let sessions_after = count(&app, "SELECT COUNT(*) FROM sessions").await;
    assert_eq!(
        sessions_after - sessions_before,
        6,
        "one session per sign-in"
    );

    // The login page does not carry a bad `next` into its form either.
    let html = app
        .anonymous_client()
        .get(app.url("/admin/login?next=%2F%2Fevil.example"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("evil.example"));
}

#[tokio::test]
async fn hostile_addresses_the_mailer_cannot_use_are_refused_at_every_door() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    open_trial(&app, "ward-7").await;
    for address in [
        "a(b)c@example.org",
        "a:b@example.org",
        "\"a b\"@example.org",
    ] {
        let response = sign_up_form(&app, "ward-7", &[("name", "Ada"), ("email", address)]).await;
        assert_eq!(response.status().as_u16(), 422, "{address}");
        let html = response.text().await.unwrap();
        assert!(html.contains("id=\"email-error\""), "{address}");
        if !address.contains(' ') {
            assert!(html.contains("cannot send"), "{address}");
        }

        let (status, error) = error_of(
            sign_up_api(
                &app,
                json!({ "trial": "ward-7", "name": "Ada", "email": address, "consent": true }),
            )
            .await,
        )
        .await;
        assert_eq!((status, error["field"].as_str()), (422, Some("email")));
    }

    let response = upload_csv(
        &app,
        "ward-7",
        b"name,email\nAda,ada@example.org\nMallory,a(b)c@example.org\nEve,a:b@example.org\n",
    )
    .await;
    assert_eq!(response.status().as_u16(), 303);
    let preview = response.headers()["location"].to_str().unwrap().to_string();
    let html = app.get_html(&preview).await;
    assert!(html.contains("a(b)c@example.org") && html.contains("a:b@example.org"));
    assert_eq!(html.matches("cannot send").count(), 2, "{html}");

    assert_eq!(count(&app, "SELECT COUNT(*) FROM participants").await, 0);
    assert!(app.store.list_outbox(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn hostile_case_and_tag_variants_of_one_mailbox_share_its_sign_up_limit() {
    let app = spawn_app_with(|s| {
        s.signup_limit_per_email = 2;
        s.signup_limit_per_ip = 100;
    })
    .await;
    open_trial(&app, "ward-7").await;
    for address in ["Grace@Example.org", "grace+coffee@example.org"] {
        let response = sign_up_form(&app, "ward-7", &[("name", "Grace"), ("email", address)]).await;
        assert_eq!(response.status().as_u16(), 303, "{address}");
    }
    let response = sign_up_form(
        &app,
        "ward-7",
        &[("name", "Grace"), ("email", "GRACE+again@EXAMPLE.org")],
    )
    .await;
    assert_eq!(response.status().as_u16(), 429);
    let response = sign_up_api(
        &app,
        json!({ "trial": "ward-7", "name": "Grace", "email": "grace+api@example.org", "consent": true }),
    )
    .await;
    assert_eq!(response.status().as_u16(), 429);

    // Another mailbox from the same client still gets through.
    let response = sign_up_form(
        &app,
        "ward-7",
        &[("name", "Alan"), ("email", "alan@example.org")],
    )
    .await;
    assert_eq!(response.status().as_u16(), 303);
}

#[tokio::test]
async fn hostile_invisible_characters_in_names_are_refused_at_the_field_with_values_kept() {
    let app = spawn_app().await;
    open_trial(&app, "ward-7").await;
    let cases: &[(&str, &str, &str)] = &[
        ("Eve\u{202E}gnp.exe", "Ask me about coffee.", "name"),
        ("Eve\u{2067}x\u{2069}", "Ask me about coffee.", "name"),
        ("Eve\u{200B}", "Ask me about coffee.", "name"),
        ("...", "Ask me about coffee.", "name"),
        ("Eve", "Ask me\u{200F} about coffee.", "introduction"),
        ("Eve", "\u{FEFF}Ask me about coffee.", "introduction"),
    ];
    for (name, introduction, field) in cases {
        let response = sign_up_form(
            &app,
            "ward-7",
            &[
                ("name", name),
                ("email", "eve@example.org"),
                ("introduction", introduction),
            ],
        )
        .await;
        assert_eq!(response.status().as_u16(), 422, "{name:?}");
        let html = response.text().await.unwrap();
        assert!(html.contains(&format!("id=\"{field}-error\"")), "{name:?}");
        assert!(
            html.contains("value=\"eve@example.org\""),
            "the address is kept"
        );
        assert!(html.contains("about coffee."), "the introduction is kept");

        let (status, error) = error_of(
            sign_up_api(
                &app,
                json!({ "trial": "ward-7", "name": name, "email": "eve@example.org",
                        "introduction": introduction, "consent": true }),
            )
            .await,
        )
        .await;
        assert_eq!((status, error["field"].as_str()), (422, Some(*field)));
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM participants").await, 0);
}

#[tokio::test]
async fn hostile_trial_settings_out_of_range_are_refused_at_the_field() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let token = app.api_token().await;

    for (field, value) in [
        ("event_date", "262142-01-01"),
        ("event_date", "1999-12-31"),
        ("slug", "new"),
        ("slug", "import"),
    ] {
        let mut fields = vec![
            ("name", "Study day"),
            ("slug", "study-day"),
            ("kind", "event"),
        ];
        fields.retain(|(k, _)| *k != field);
        fields.push((field, value));
        let response = app
            .submit("/admin/trials/new", "/admin/trials", &fields)
            .await;
        assert_eq!(response.status().as_u16(), 422, "{field}={value}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field}={value}"
        );
        assert!(
            html.contains(&format!("value=\"{value}\"")),
            "{field}={value} is kept"
        );
    }

    let api = app.anonymous_client();
    let post = |body: Value| {
        api.post(app.url("/api/v1/trials"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    for (body, field) in [
        (json!({ "name": "x", "slug": "new" }), "slug"),
        (
            json!({ "name": "x", "slug": "day", "kind": "event", "event_date": "2101-01-01" }),
            "event_date",
        ),
        (
            json!({ "name": "x", "slug": "day", "group_size": 7 }),
            "group_size",
        ),
    ] {
        let (status, error) = error_of(post(body).await.unwrap()).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)));
    }
    for (slug, group_size) in [("as-number", json!(3)), ("as-text", json!("3"))] {
        let response = post(json!({ "name": "Threes", "slug": slug, "group_size": group_size }))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201, "{group_size}");
        let trial = app.store.find_trial(slug).await.unwrap().unwrap();
        assert_eq!(trial.group_size, 3, "{group_size}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM trials").await, 2);
}
