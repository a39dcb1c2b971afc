use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[tokio::test]
async fn organisers_create_and_edit_trials_in_the_console() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let created = app
        .submit(
            "/admin/trials/new",
            "/admin/trials",
            &[
                ("name", "Study day"),
                ("slug", "study-day"),
                ("kind", "event"),
                ("attribute_name", "Discipline"),
                ("attribute_values", "Nursing\nPharmacy\nEstates"),
                ("open_for_signup", "on"),
            ],
        )
        .await;
    assert_eq!(created.status().as_u16(), 303);
    let trial = app.store.find_trial("study-day").await.unwrap().unwrap();
    assert_eq!(trial.kind.as_str(), "event");
    assert_eq!(
        trial.attribute_value_list(),
        vec!["Nursing", "Pharmacy", "Estates"]
    );
    assert!(trial.is_open());

    let list = app.get_html("/admin").await;
    assert!(list.contains("Study day") && list.contains("/t/study-day"));

    // Unticking the checkbox closes sign-up.
    let edited = app
        .submit(
            "/admin/trials/study-day",
            "/admin/trials/study-day",
            &[
                ("name", "Study day 2026"),
                ("slug", "study-day"),
                ("kind", "event"),
            ],
        )
        .await;
    assert_eq!(edited.status().as_u16(), 303);
    let trial = app.store.find_trial("study-day").await.unwrap().unwrap();
    assert_eq!(trial.name, "Study day 2026");
    assert!(!trial.is_open());
}

#[tokio::test]
async fn a_bad_trial_form_comes_back_with_values_and_messages() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let response = app
        .submit(
            "/admin/trials/new",
            "/admin/trials",
            &[
                ("name", "<b>Bold</b> name"),
                ("slug", "Not Valid!"),
                ("description", "kept text"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"slug-error\""));
    assert!(html.contains("value=\"Not Valid!\""));
    assert!(html.contains("kept text"));
    assert!(
        html.contains("&#60;b&#62;Bold") && !html.contains("<b>Bold"),
        "names are escaped"
    );

    app.submit(
        "/admin/trials/new",
        "/admin/trials",
        &[("name", "One"), ("slug", "taken")],
    )
    .await;
    let duplicate = app
        .submit(
            "/admin/trials/new",
            "/admin/trials",
            &[("name", "Two"), ("slug", "taken")],
        )
        .await;
    assert_eq!(duplicate.status().as_u16(), 422);
    assert!(duplicate
        .text()
        .await
        .unwrap()
        .contains("another trial already uses this address"));
}

#[tokio::test]
async fn the_trials_api_creates_lists_reads_and_updates() {
    let app = spawn_app().await;
    let token = app.organiser_token().await;
    let call = |method, path, body| app.api_call(&token, method, path, body);

    let (status, body) = call(
        Method::POST,
        "/api/v1/trials",
        Some(json!({ "name": "Pharmacy RCT", "slug": "pharmacy", "attribute_values": "Wards\nDispensary" })),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["slug"], "pharmacy");
    assert_eq!(body["open_for_signup"], true);

    let (status, body) = call(
        Method::POST,
        "/api/v1/trials",
        Some(json!({ "name": "x", "slug": "NO" })),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["field"], "slug");

    let (status, _) = call(
        Method::POST,
        "/api/v1/trials",
        Some(json!({ "name": "x", "slug": "pharmacy" })),
    )
    .await;
    assert_eq!(status, 409);

    let malformed = app
        .anonymous_client()
        .post(app.url("/api/v1/trials"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status().as_u16(), 422);
    let body: Value = malformed.json().await.unwrap();
    assert!(body["error"].is_string() && body.get("field").is_some());

    let (_, list) = call(Method::GET, "/api/v1/trials", None).await;
    assert_eq!(list["trials"].as_array().unwrap().len(), 1);
    assert_eq!(list["trials"][0]["participants"], 0);

    let (status, _) = call(
        Method::PUT,
        "/api/v1/trials/pharmacy",
        Some(json!({ "name": "Pharmacy coffee", "slug": "pharmacy", "open_for_signup": false })),
    )
    .await;
    assert_eq!(status, 200);
    let (_, got) = call(Method::GET, "/api/v1/trials/pharmacy", None).await;
    assert_eq!(got["name"], "Pharmacy coffee");
    assert_eq!(got["open_for_signup"], false);
    let (status, _) = call(Method::GET, "/api/v1/trials/nope", None).await;
    assert_eq!(status, 404);
}
