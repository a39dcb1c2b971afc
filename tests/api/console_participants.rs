//! A trial's participants in the console: search, pause, remove, export.
use coffee_trials::domain::MembershipState;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::import::{import_from, preview_of, trial};

const PEOPLE: &str = "name,email,department,role\n\
    Ada Lovelace,ada@example.org,Research,\"Analyst, senior\"\n\
    Bob Babbage,bob@example.org,Finance,\"Says \"\"hi\"\"\"\n\
    =HYPERLINK(\"http://x\"),formula@example.org,Research,-1+2\n\
    Carol Ada,carol@example.org,Estates,@mention\n";

async fn public_id(app: &TestApp, trial_id: i64, email: &str) -> String {
    let q = coffee_trials::store::participants::MemberQuery {
        search: Some(email.into()),
        ..Default::default()
    };
    app.store.list_members(trial_id, &q).await.unwrap()[0]
        .public_id
        .clone()
}

#[tokio::test]
async fn organisers_search_pause_remove_and_export() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = trial(&app, "people", "").await;
    let page = preview_of(&app, "people", PEOPLE.as_bytes()).await;
    import_from(&app, &page, true).await;

    // Search matches names and addresses, in any case.
    let html = app
        .get_html("/admin/trials/people/participants?search=ADA")
        .await;
    assert!(html.contains("2 matching"), "{html}");
    assert!(html.contains("Ada Lovelace") && html.contains("Carol Ada"));
    assert!(!html.contains("Bob Babbage"));

    // Pause with a date, refused for a date in the past, then remove.
    let bob = public_id(&app, trial.id, "bob@example.org").await;
    let person = format!("/admin/trials/people/participants/{bob}");
    let bad = app
        .submit(
            &person,
            &format!("{person}/pause"),
            &[("until", "2001-01-01")],
        )
        .await;
    assert_eq!(bad.status().as_u16(), 422);
    assert!(bad.text().await.unwrap().contains("id=\"until-error\""));
    let until = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let paused = app
        .submit(
            &person,
            &format!("{person}/pause"),
            &[("until", until.as_str())],
        )
        .await;
    assert_eq!(paused.status().as_u16(), 303);
    let html = app.get_html(&person).await;
    assert!(html.contains(&format!("paused until {until}")), "{html}");

    let carol = public_id(&app, trial.id, "carol@example.org").await;
    let carol_page = format!("/admin/trials/people/participants/{carol}");
    let paused = app
        .submit(
            &carol_page,
            &format!("{carol_page}/pause"),
            &[("until", "")],
        )
        .await;
    assert_eq!(paused.status().as_u16(), 303);
    let removed = app
        .submit(&carol_page, &format!("{carol_page}/remove"), &[])
        .await;
    assert_eq!(removed.status().as_u16(), 303);
    assert_eq!(
        app.store.count_members_by_state(trial.id).await.unwrap(),
        vec![
            (MembershipState::Active, 2),
            (MembershipState::Left, 1),
            (MembershipState::Paused, 1)
        ]
    );
    let html = app
        .get_html("/admin/trials/people/participants?state=paused")
        .await;
    assert!(
        html.contains("1 matching") && html.contains("Bob Babbage"),
        "{html}"
    );

    // The export parses back with every value intact, and formulas arrive as text.
    let response = app.get("/admin/trials/people/participants.csv").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = response.bytes().await.unwrap();
    assert!(body.windows(2).any(|w| w == b"\r\n"), "RFC 4180 line ends");
    // A byte-order mark first, so that a double-click in Excel reads the file as UTF-8.
    let body = body
        .strip_prefix(b"\xEF\xBB\xBF")
        .expect("the file starts with a UTF-8 byte-order mark");
    let mut reader = csv::Reader::from_reader(body);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "id",
            "name",
            "email",
            "state",
            "Department",
            "role",
            "site",
            "team",
            "meeting_modes",
            "paused_until",
            "joined_at",
            "confirmed_at",
            "needs_attention"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    let row = |email: &str| {
        rows.iter()
            .find(|r| &r[2] == email)
            .unwrap_or_else(|| panic!("{email} is exported"))
            .clone()
    };
    assert_eq!(&row("ada@example.org")[5], "Analyst, senior");
    assert_eq!(&row("bob@example.org")[5], "Says \"hi\"");
    assert_eq!(&row("bob@example.org")[3], "paused");
    assert!(row("bob@example.org")[9].starts_with(&until));
    assert_eq!(&row("carol@example.org")[3], "left");
    assert_eq!(&row("carol@example.org")[5], "'@mention");
    let formula = row("formula@example.org");
    assert_eq!(&formula[1], "'=HYPERLINK(\"http://x\")");
    assert_eq!(&formula[5], "'-1+2");
    assert_eq!(
        &formula[0],
        public_id(&app, trial.id, "formula@").await.as_str()
    );

    // The export follows the page's filters.
    let filtered = app
        .get_html("/admin/trials/people/participants.csv?state=active")
        .await;
    assert_eq!(filtered.trim_end().lines().count(), 3, "{filtered}");
}

#[tokio::test]
async fn unknown_trials_and_people_are_not_found() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    trial(&app, "here", "").await;
    for path in [
        "/admin/trials/nowhere/participants",
        "/admin/trials/nowhere/participants.csv",
        "/admin/trials/here/participants/0123456789abcdef0123456789abcdef",
        "/admin/trials/here/import/0123456789abcdef0123456789abcdef",
    ] {
        assert_eq!(app.get(path).await.status().as_u16(), 404, "{path}");
    }
}

#[tokio::test]
async fn the_api_lists_adds_pauses_and_removes() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let token = app.api_token().await;
    trial(&app, "api", "Research\nFinance").await;
    let api = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(&token)
    };
    let base = "/api/v1/trials/api/participants";

    let bad = api(reqwest::Method::POST, base)
        .json(&json!({"name": "Ada", "email": "nope", "attribute_value": "Research"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 422);
    assert_eq!(bad.json::<Value>().await.unwrap()["field"], "email");

    let added = api(reqwest::Method::POST, base)
        .json(&json!({"name": "Ada Lovelace", "email": "ada@example.org", "attribute_value": "research", "consent": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status().as_u16(), 201);
    let ada: Value = added.json().await.unwrap();
    assert_eq!(ada["state"], "active");
    assert_eq!(ada["attribute_value"], "Research");
    assert!(ada.get("membership_id").is_none(), "no internal ids");
    let id = ada["id"].as_str().unwrap().to_string();

    let pending = api(reqwest::Method::POST, base)
        .json(&json!({"name": "Bob", "email": "bob@example.org", "attribute_value": "Finance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(pending.json::<Value>().await.unwrap()["state"], "pending");
    let again = api(reqwest::Method::POST, base)
        .json(&json!({"name": "Bob", "email": "BOB@example.org", "attribute_value": "Finance"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 409);

    let listed: Value = api(reqwest::Method::GET, &format!("{base}?search=lovelace"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["participants"][0]["id"], id.as_str());

    let until = (chrono::Utc::now() + chrono::Duration::days(10))
        .format("%Y-%m-%d")
        .to_string();
    let paused: Value = api(reqwest::Method::POST, &format!("{base}/{id}/pause"))
        .json(&json!({ "until": until }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paused["state"], "paused");
    assert!(paused["paused_until"].as_str().unwrap().starts_with(&until));
    let removed = api(reqwest::Method::POST, &format!("{base}/{id}/remove"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status().as_u16(), 200);
    assert_eq!(removed.json::<Value>().await.unwrap()["state"], "left");
    let refused = api(reqwest::Method::POST, &format!("{base}/{id}/pause"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 409);

    let by_state: Value = api(reqwest::Method::GET, &format!("{base}?state=left"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_state["total"], 1);
    let missing = api(reqwest::Method::GET, "/api/v1/trials/nowhere/participants")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}
