//! `GET /metrics`: off unless METRICS_TOKEN or METRICS_BIND says otherwise, a bearer token
//! when one is set, Prometheus text with the figures the README lists, and no personal data.
use chrono::Utc;
use coffee_trials::config::{RawSettings, Settings};
use coffee_trials::startup::Application;
use coffee_trials::store::outbox::{enqueue, NewEmail};

use crate::helpers::{spawn_app_with, spawn_app_without_loops, test_outbox_dir, TestDatabase};

const TOKEN: &str = "metrics-token-for-the-tests-0123";

#[tokio::test]
async fn metrics_are_off_unless_asked_for() {
    let app = spawn_app_without_loops().await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn metrics_need_the_bearer_token_and_carry_no_personal_data() {
    let app = spawn_app_with(|s| {
        s.background_loops = false;
        s.metrics_token = Some(TOKEN.into());
    })
    .await;
    let mut tx = app.store.pool().begin().await.unwrap();
    enqueue(
        &mut tx,
        &NewEmail {
            template: "test",
            to_address: "someone.private@example.org".into(),
            participant_id: None,
            round_id: None,
            subject: "Hello".into(),
            body_text: "Hello\n".into(),
            body_html: String::new(),
            headers_json: "{}".into(),
            attachments_json: "[]".into(),
        },
        "test.example",
        Utc::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // Requests whose paths carry a token and an address: only their patterns may show.
    let _ = app.get("/c/secret-token-in-the-path-9f8e7d").await;
    let _ = app.get("/admin/login").await;
    let _ = app.get("/no/such/page/with/someone@example.org").await;

    let anonymous = app.anonymous_client();
    let missing = anonymous.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 401);
    assert!(missing.headers().contains_key("www-authenticate"));
    let wrong = anonymous
        .get(app.url("/metrics"))
        .bearer_auth("metrics-token-for-the-tests-0124")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);

    let response = anonymous
        .get(app.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let body = response.text().await.unwrap();
    for expected in [
        "# TYPE http_requests_total counter",
        "route=\"/admin/login\"",
        "status=\"200\"",
        "route=\"/c/{token}\"",
        "route=\"(no route)\"",
        "# TYPE http_request_duration_seconds histogram",
        "http_request_duration_seconds_bucket{",
        "outbox_messages{state=\"queued\"} 1",
        "outbox_messages{state=\"failed\"} 0",
        "outbox_oldest_waiting_seconds ",
        "rounds_published 0",
    ] {
        assert!(body.contains(expected), "{expected} in:\n{body}");
    }
    for private in ["secret-token-in-the-path", "@example.org", "someone"] {
        assert!(!body.contains(private), "{private} in:\n{body}");
    }
}

#[tokio::test]
async fn metrics_bind_serves_them_on_an_address_of_their_own() {
    let db = TestDatabase::create().await;
    let mut settings = Settings::from_raw(RawSettings {
        database_url: Some(db.url()),
        bind: Some("127.0.0.1:0".into()),
        outbox_dir: Some(test_outbox_dir()),
        metrics_bind: Some("127.0.0.1:0".into()),
        ..Default::default()
    })
    .unwrap();
    settings.background_loops = false;
    let app = Application::build(&settings).await.unwrap();
    let (port, metrics_port) = (app.port(), app.metrics_port().expect("a metrics address"));
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let main = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(main.status().as_u16(), 404, "not on the main address");
    let own = client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 200);
    assert!(own.text().await.unwrap().contains("outbox_messages"));
    let other = client
        .get(format!("http://127.0.0.1:{metrics_port}/admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404, "nothing else is served there");
}
