//! The OpenAPI document at /api/v1/openapi.json: open to anyone, and describing exactly the
//! routes the router serves under /api/. The route list is not kept by hand here: every route
//! pattern written in src/web/ is tried against the running service with every method, and
//! whatever a handler answers must be in the document (and everything in the document must be
//! answered by a handler).
use std::collections::BTreeSet;
use std::process::Command;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, ORGANISER_EMAIL};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

async fn document(app: &TestApp) -> Value {
    let response = app
        .anonymous_client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    response.json().await.unwrap()
}

/// (METHOD, path pattern) of every operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if METHODS.contains(&method.to_uppercase().as_str()) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Every string literal in src/web/ that looks like a route pattern (relative ones also under
/// the organisers' `/api/v1` scope), as a full path under /api/.
fn patterns_in_source() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/web"
    ))];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for literal in source.split('"').skip(1).step_by(2) {
                let looks_like_a_route = literal.starts_with('/')
                    && literal.len() > 1
                    && !literal.contains("//")
                    && literal
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/{}_-.".contains(c));
                if !looks_like_a_route {
                    continue;
                }
                if literal.starts_with("/api/") {
                    found.insert(literal.to_string());
                } else if !literal.starts_with("/admin") {
                    found.insert(format!("/api/v1{literal}"));
                }
            }
        }
    }
    found
}

fn concrete(pattern: &str) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').unwrap();
        out.push_str(match &rest[open + 1..close] {
            "slug" => "ward-7",
            "number" | "id" => "1",
            "public_id" => "nobody",
            "token" => "no-such-token",
            _ => "x",
        });
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Whether a documented pattern covers a concrete path (`/trials/new` is `/trials/{slug}`).
fn covers(pattern: &str, path: &str) -> bool {
    let (pattern, path): (Vec<_>, Vec<_>) =
        (pattern.split('/').collect(), path.split('/').collect());
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(&path)
            .all(|(p, s)| p == s || (p.starts_with('{') && p.ends_with('}')))
}

/// Whether a handler took the request: anything but the answers for no route at all (404)
/// and for a route without this method (405).
async fn answered_by_a_handler(app: &TestApp, token: &str, method: &str, path: &str) -> bool {
    let client = app.anonymous_client();
    let mut request = client
        .request(method.parse().unwrap(), app.url(path))
        .bearer_auth(token);
    if method != "GET" {
        request = request.json(&json!({}));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    match status {
        405 => false,
        404 => {
            let body: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{method} {path}: a 404 that is not JSON: {text:?}"));
            body["error"] != "there is nothing at this address"
        }
        _ => true,
    }
}

async fn organiser_with_trial(app: &TestApp) -> String {
    app.sign_up_first_organiser().await;
    let token = app.api_token().await;
    let created = app
        .anonymous_client()
        .post(app.url("/api/v1/trials"))
        .bearer_auth(&token)
        .json(&json!({"name": "Ward 7", "slug": "ward-7"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    token
}

#[tokio::test]
async fn the_document_is_open_to_anyone_and_describes_errors_and_the_token() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], json!(["error"]), "{error}");
    assert_eq!(error["properties"]["error"]["type"], "string");
    assert_eq!(
        error["properties"]["field"]["type"],
        json!(["string", "null"])
    );
    let scheme = &doc["components"]["securitySchemes"]["organiser_token"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");

    // Organiser routes need the token and say what happens without it; participants' and the
    // library's do not.
    let list = &doc["paths"]["/api/v1/trials"]["get"];
    assert_eq!(list["security"], json!([{"organiser_token": []}]));
    assert_eq!(
        list["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    let signup = &doc["paths"]["/api/v1/public/signups"]["post"];
    assert!(signup.get("security").is_none(), "{signup}");
    for status in ["202", "422", "429", "500"] {
        assert!(
            signup["responses"].get(status).is_some(),
            "{status}: {signup}"
        );
    }
    let swap = &doc["paths"]["/api/v1/trials/{slug}/rounds/{number}/swap"]["post"];
    for status in ["200", "401", "404", "409", "422"] {
        assert!(swap["responses"].get(status).is_some(), "{status}: {swap}");
    }
}

#[tokio::test]
async fn every_api_route_of_the_router_is_in_the_document_and_nothing_else() {
    let app = spawn_app().await;
    let token = organiser_with_trial(&app).await;
    let doc = document(&app).await;
    let documented = documented(&doc);
    assert!(documented.len() > 30, "{documented:?}");

    let mut candidates = patterns_in_source();
    candidates.extend(documented.iter().map(|(_, p)| p.clone()));
    let mut routed = BTreeSet::new();
    for pattern in &candidates {
        let path = concrete(pattern);
        for method in METHODS {
            if answered_by_a_handler(&app, &token, method, &path).await {
                // A literal such as "/trials/new" reaches the handler of "/trials/{slug}".
                let known = documented
                    .iter()
                    .find(|(m, p)| m == method && covers(p, &path))
                    .map(|(_, p)| p.clone());
                routed.insert((method.to_string(), known.unwrap_or_else(|| pattern.clone())));
            }
        }
    }
    let missing: Vec<_> = routed.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes without a place in the OpenAPI document (add their handlers to \
         src/web/openapi.rs): {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(extra.is_empty(), "documented but not served: {extra:?}");
}

#[tokio::test]
async fn unknown_api_addresses_and_unreadable_input_answer_json() {
    let app = spawn_app().await;
    let token = organiser_with_trial(&app).await;
    let client = app.anonymous_client();
    for path in [
        "/api",
        "/api/nothing",
        "/api/v2/trials",
        "/api/v1/public/nothing",
        "/api/v1/trials/ward-7/nothing",
        // A round number that is not a number: no such address either.
        "/api/v1/trials/ward-7/rounds/first",
    ] {
        let response = client
            .get(app.url(path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"error": "there is nothing at this address", "field": null}),
            "{path}"
        );
    }
    let response = client
        .get(app.url("/api/v1/trials/ward-7/participants?limit=many"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("the query string is not valid"),
        "{body}"
    );
    assert_eq!(body["field"], Value::Null);
}

#[tokio::test]
async fn numbers_may_be_sent_as_numbers_or_as_text() {
    let app = spawn_app().await;
    let token = organiser_with_trial(&app).await;
    let client = app.anonymous_client();
    let created = client
        .post(app.url("/api/v1/trials"))
        .bearer_auth(&token)
        .json(&json!({
            "name": "Numbers", "slug": "numbers",
            "group_size": 3, "notice_hours": "36", "feedback_delay_days": 5, "nudge": 2,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let trial: Value = created.json().await.unwrap();
    assert_eq!(trial["group_size"], 3);
    assert_eq!(trial["notice_hours"], 36);
    assert_eq!(trial["feedback_delay_days"], 5);
    assert_eq!(trial["nudge"], "2d");

    // Null counts as not given, like a missing field.
    let updated = client
        .put(app.url("/api/v1/trials/numbers"))
        .bearer_auth(&token)
        .json(&json!({"name": "Numbers", "slug": "numbers", "group_size": null, "nudge": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status().as_u16(), 200);
    let trial: Value = updated.json().await.unwrap();
    assert_eq!(trial["group_size"], 2);

    // Seeds come back as text, and may go in as text or as a number.
    for (slug, seed) in [("ward-7", json!("42")), ("numbers", json!(42))] {
        let round = client
            .post(app.url(&format!("/api/v1/trials/{slug}/rounds")))
            .bearer_auth(&token)
            .json(&json!({"seed": seed}))
            .send()
            .await
            .unwrap();
        assert_eq!(round.status().as_u16(), 201);
        let round: Value = round.json().await.unwrap();
        assert_eq!(round["round"]["seed"], "42", "{slug}");
    }
}

#[tokio::test]
async fn the_command_line_makes_an_api_token_for_an_organiser() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let run = |email: &str| {
        Command::new(env!("CARGO_BIN_EXE_coffee-trials"))
            .args(["organiser", "token", email, "--name", "nightly import"])
            .env("DATABASE_URL", app._db.url())
            .env("BASE_URL", &app.address)
            .output()
            .unwrap()
    };
    let out = run(ORGANISER_EMAIL);
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let response = app
        .anonymous_client()
        .get(app.url("/api/v1/trials"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let out = run("nobody@example.org");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn every_operation_has_its_own_id() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let mut seen = BTreeSet::new();
    let mut operations = 0;
    for item in doc["paths"].as_object().unwrap().values() {
        for (method, operation) in item.as_object().unwrap() {
            if !METHODS.contains(&method.to_uppercase().as_str()) {
                continue;
            }
            operations += 1;
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("an operation without an id: {operation}"));
            assert!(
                seen.insert(id.to_string()),
                "operationId {id} is used twice"
            );
        }
    }
    assert!(
        operations > 30,
        "only {operations} operations in the document"
    );
    assert!(seen.contains("post_trials_slug_webhooks"), "{seen:?}");
}
