//! Every organiser route, spelled every way a path can be spelled, with no session and no
//! token: none may reach a handler. The table below must list exactly the routes declared in
//! `src/web/admin/`, so a route added later fails this test until it is listed (and checked).
use std::collections::BTreeSet;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{csrf_from, spawn_app, TestApp};

/// Console routes (under `/admin`) that need an organiser.
pub const CONSOLE: &[(&str, &str)] = &[
    ("GET", "/admin"),
    ("POST", "/admin/logout"),
    ("GET", "/admin/tokens"),
    ("POST", "/admin/tokens"),
    ("POST", "/admin/tokens/{id}/revoke"),
    ("GET", "/admin/organisers/invite"),
    ("POST", "/admin/organisers/invite"),
    ("GET", "/admin/organisers"),
    ("POST", "/admin/organisers/{id}/disable"),
    ("POST", "/admin/organisers/{id}/enable"),
    ("GET", "/admin/trials/{slug}/organisers"),
    ("POST", "/admin/trials/{slug}/organisers"),
    ("GET", "/admin/trials/new"),
    ("POST", "/admin/trials"),
    ("GET", "/admin/trials/{slug}"),
    ("POST", "/admin/trials/{slug}"),
    ("GET", "/admin/trials/{slug}/rounds"),
    ("POST", "/admin/trials/{slug}/rounds"),
    ("GET", "/admin/trials/{slug}/rounds/{number}"),
    ("POST", "/admin/trials/{slug}/rounds/{number}/reshuffle"),
    ("POST", "/admin/trials/{slug}/rounds/{number}/swap"),
    ("GET", "/admin/trials/{slug}/rounds/{number}/publish"),
    ("POST", "/admin/trials/{slug}/rounds/{number}/publish"),
    ("POST", "/admin/trials/{slug}/rounds/{number}/discard"),
    ("GET", "/admin/techniques"),
    ("GET", "/admin/techniques/new"),
    ("POST", "/admin/techniques"),
    ("GET", "/admin/techniques/{technique}"),
    ("POST", "/admin/techniques/{technique}"),
    ("GET", "/admin/trials/{slug}/participants"),
    ("GET", "/admin/trials/{slug}/participants.csv"),
    ("GET", "/admin/trials/{slug}/participants/{public_id}"),
    (
        "POST",
        "/admin/trials/{slug}/participants/{public_id}/pause",
    ),
    (
        "POST",
        "/admin/trials/{slug}/participants/{public_id}/resume",
    ),
    (
        "POST",
        "/admin/trials/{slug}/participants/{public_id}/remove",
    ),
    ("GET", "/admin/trials/{slug}/event"),
    (
        "POST",
        "/admin/trials/{slug}/event/people/{public_id}/check-in",
    ),
    ("POST", "/admin/trials/{slug}/event/people/{public_id}/left"),
    ("POST", "/admin/trials/{slug}/event/rounds"),
    ("POST", "/admin/trials/{slug}/event/summaries"),
    ("GET", "/admin/trials/{slug}/display"),
    ("GET", "/admin/trials/{slug}/display/board"),
    ("GET", "/admin/trials/{slug}/import"),
    ("POST", "/admin/trials/{slug}/import"),
    ("GET", "/admin/trials/{slug}/import/{batch}"),
    ("POST", "/admin/trials/{slug}/import/{batch}"),
    ("GET", "/admin/outbox"),
    ("POST", "/admin/outbox/{id}/retry"),
    ("POST", "/admin/outbox/retry-failed"),
    ("POST", "/admin/outbox/retry-now"),
    ("GET", "/admin/trials/{slug}/dashboard"),
    ("GET", "/admin/trials/{slug}/pairings.csv"),
    ("GET", "/admin/trials/{slug}/feedback.csv"),
    ("GET", "/admin/trials/{slug}/webhooks"),
    ("POST", "/admin/trials/{slug}/webhooks"),
    ("POST", "/admin/trials/{slug}/webhooks/{id}/delete"),
    ("POST", "/admin/trials/{slug}/webhooks/{id}/enable"),
];

/// Organisers' JSON API routes (under `/api/v1`).
const API: &[(&str, &str)] = &[
    ("GET", "/api/v1/trials"),
    ("POST", "/api/v1/trials"),
    ("GET", "/api/v1/trials/{slug}"),
    ("PUT", "/api/v1/trials/{slug}"),
    ("GET", "/api/v1/trials/{slug}/rounds"),
    ("POST", "/api/v1/trials/{slug}/rounds"),
    ("GET", "/api/v1/trials/{slug}/rounds/{number}"),
    ("POST", "/api/v1/trials/{slug}/rounds/{number}/reshuffle"),
    ("POST", "/api/v1/trials/{slug}/rounds/{number}/swap"),
    ("POST", "/api/v1/trials/{slug}/rounds/{number}/publish"),
    ("GET", "/api/v1/trials/{slug}/participants"),
    ("POST", "/api/v1/trials/{slug}/participants"),
    ("GET", "/api/v1/trials/{slug}/participants/{public_id}"),
    (
        "POST",
        "/api/v1/trials/{slug}/participants/{public_id}/pause",
    ),
    (
        "POST",
        "/api/v1/trials/{slug}/participants/{public_id}/resume",
    ),
    (
        "POST",
        "/api/v1/trials/{slug}/participants/{public_id}/remove",
    ),
    ("GET", "/api/v1/trials/{slug}/pairings"),
    ("GET", "/api/v1/trials/{slug}/feedback"),
    ("GET", "/api/v1/trials/{slug}/organisers"),
    ("PUT", "/api/v1/trials/{slug}/organisers"),
    ("GET", "/api/v1/trials/{slug}/webhooks"),
    ("POST", "/api/v1/trials/{slug}/webhooks"),
    ("DELETE", "/api/v1/trials/{slug}/webhooks/{id}"),
    ("POST", "/api/v1/trials/{slug}/webhooks/{id}/enable"),
];

/// Console pages anyone may open: signing in and the links that create accounts.
const PUBLIC_CONSOLE: &[(&str, &str)] = &[
    ("GET", "/admin/login"),
    ("POST", "/admin/login"),
    ("GET", "/admin/setup/{token}"),
    ("POST", "/admin/setup/{token}"),
    ("GET", "/admin/invite/{token}"),
    ("POST", "/admin/invite/{token}"),
    ("GET", "/admin/forgot"),
    ("POST", "/admin/forgot"),
    ("GET", "/admin/reset/{token}"),
    ("POST", "/admin/reset/{token}"),
];

/// The route patterns declared in `src/web/admin/` (relative to their scope), read from the
/// source: the first string literal after each route macro, `.route(` and `resource(`.
fn declared_patterns() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/admin");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for opener in [
            "#[get(",
            "#[post(",
            "#[put(",
            "#[delete(",
            ".route(",
            "resource(",
        ] {
            for (at, _) in source.match_indices(opener) {
                let rest = source[at + opener.len()..].trim_start();
                if let Some(literal) = rest.strip_prefix('"') {
                    found.insert(literal[..literal.find('"').unwrap()].to_string());
                }
            }
        }
    }
    found
}

fn relative(path: &str) -> String {
    let path = path
        .strip_prefix("/api/v1")
        .or_else(|| path.strip_prefix("/admin"))
        .unwrap();
    path.replace("{technique}", "{slug}")
}

#[test]
fn the_table_lists_exactly_the_declared_organiser_routes() {
    let listed: BTreeSet<String> = CONSOLE
        .iter()
        .chain(API)
        .chain(PUBLIC_CONSOLE)
        .map(|(_, p)| relative(p))
        .collect();
    assert_eq!(
        listed,
        declared_patterns(),
        "list every new organiser route in tests/api/route_table.rs"
    );
}

/// One raw HTTP/1.1 exchange, so that the path goes out exactly as written (HTTP clients
/// normalise `/./` and `//` away).
async fn raw(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line for {method} {path}: {answer:?}"));
    let location = answer
        .lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .unwrap_or("")
        .to_string();
    (status, location)
}

/// Other spellings of `path`: percent-encoded letters (lower and upper-case hex, twice
/// encoded), `.` and `..` segments, empty segments, a trailing slash and changes of case.
fn spellings(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = path.chars().collect();
    // Each letter of the first segment, and the first letter of the last one.
    let first_end = path[1..].find('/').map_or(path.len(), |i| i + 1);
    let last_start = path.rfind('/').unwrap() + 1;
    let mut positions: Vec<usize> = (1..first_end).collect();
    if last_start < path.len() {
        positions.push(last_start);
    }
    for i in positions {
        let c = chars[i];
        if !c.is_ascii_alphanumeric() {
            continue;
        }
        let (before, after): (String, String) =
            (chars[..i].iter().collect(), chars[i + 1..].iter().collect());
        out.push(format!("{before}%{:02x}{after}", c as u32));
        out.push(format!("{before}%{:02X}{after}", c as u32));
        out.push(format!("{before}%25{:02x}{after}", c as u32));
    }
    let (head, tail) = path.split_at(first_end);
    out.push(format!("/.{path}"));
    out.push(format!("{head}/.{tail}"));
    out.push(format!("/x/..{path}"));
    out.push(format!("{head}/%2e{tail}"));
    out.push(format!("/{path}"));
    out.push(format!("{head}/{tail}"));
    out.push(format!("{path}/"));
    out.push(path.to_uppercase());
    let mut capital = head.to_string();
    capital.replace_range(1..2, &head[1..2].to_uppercase());
    out.push(format!("{capital}{tail}"));
    out
}

struct Fixture {
    slug: String,
    public_id: String,
    csrf: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let token = app.organiser_token().await;
    let client = app.anonymous_client();
    let slug = "ward-7".to_string();
    let created = client
        .post(app.url("/api/v1/trials"))
        .bearer_auth(&token)
        .json(&json!({"name": "Ward 7", "slug": slug}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201, "{:?}", created.text().await);
    for (name, email) in [("Ada", "ada@example.org"), ("Bo", "bo@example.org")] {
        let added = client
            .post(app.url(&format!("/api/v1/trials/{slug}/participants")))
            .bearer_auth(&token)
            .json(&json!({"name": name, "email": email, "consent": true}))
            .send()
            .await
            .unwrap();
        assert!(added.status().is_success(), "{:?}", added.text().await);
    }
    let list: Value = client
        .get(app.url(&format!("/api/v1/trials/{slug}/participants")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let people = list.get("participants").unwrap_or(&list);
    let public_id = people[0]["id"].as_str().unwrap().to_string();
    let round = client
        .post(app.url(&format!("/api/v1/trials/{slug}/rounds")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(round.status().is_success(), "{:?}", round.text().await);
    // A CSRF pair from a public page, as an attacker would get one.
    let stranger = app.anonymous_client();
    let html = stranger
        .get(app.url("/admin/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Fixture {
        slug,
        public_id,
        csrf: csrf_from(&html),
    }
}

fn concrete(pattern: &str, f: &Fixture) -> String {
    pattern
        .replace("{slug}", &f.slug)
        .replace("{technique}", "peer-assist")
        .replace("{number}", "1")
        .replace("{public_id}", &f.public_id)
        .replace("{id}", "1")
        .replace("{batch}", "b")
}

/// The answers that show a request was stopped before any organiser handler.
fn refused(api: bool, status: u16, location: &str) -> bool {
    match status {
        // 403: the CSRF check, which runs before routing, stopped a POST that no longer
        // looks like an API call.
        400 | 403 | 404 | 405 => true,
        401 => api,
        303 => !api && location.starts_with("/admin/login"),
        _ => false,
    }
}

#[tokio::test]
async fn no_spelling_of_an_organiser_route_reaches_a_handler_without_an_organiser() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let cookie = format!("ct_csrf={}", f.csrf);
    let form = format!(
        "csrf_token={}&email=intruder%40example.org&name=x&password=x",
        f.csrf
    );
    let mut tried = 0;
    for (api, routes) in [(false, CONSOLE), (true, API)] {
        for (method, pattern) in routes {
            let path = concrete(pattern, &f);
            let (headers, body): (Vec<(&str, &str)>, &str) = match (*method, api) {
                ("GET", _) => (vec![], ""),
                (_, true) => (vec![("Content-Type", "application/json")], "{}"),
                (_, false) => (
                    vec![
                        ("Cookie", cookie.as_str()),
                        ("Content-Type", "application/x-www-form-urlencoded"),
                    ],
                    form.as_str(),
                ),
            };
            // The plain path is a real route, stopped by the organiser check itself.
            let (status, location) = raw(&app, method, &path, &headers, body).await;
            assert!(
                matches!(status, 401 | 303) && refused(api, status, &location),
                "{method} {path} answered {status} {location}"
            );
            for spelling in spellings(&path) {
                let (status, location) = raw(&app, method, &spelling, &headers, body).await;
                assert!(
                    refused(api, status, &location),
                    "{method} {spelling} answered {status} {location}"
                );
                tried += 1;
            }
        }
    }
    assert!(tried > 1000, "only {tried} spellings tried");
    // Nothing changed: still one organiser, the draft round still a draft.
    let organisers = app.store.count_organisers().await.unwrap();
    assert_eq!(organisers, 1);
}

#[tokio::test]
async fn every_listed_console_page_opens_for_a_signed_in_organiser() {
    // The other side of the test above: the table's GET routes are real pages, so a refusal
    // there is the organiser check and not a wrong address.
    let app = spawn_app().await;
    let f = fixture(&app).await;
    for (method, pattern) in CONSOLE {
        if *method != "GET" || pattern.contains("{batch}") {
            continue;
        }
        let path = concrete(pattern, &f);
        let response = app.get(&path).await;
        let status = response.status().as_u16();
        // 409: the trial is not an event, an answer of the check-in handler itself.
        assert!(matches!(status, 200 | 409), "GET {path} answered {status}");
    }
}

/// Routes only admins may use: accounts, the technique library, the outbox, and who may
/// manage a trial.
fn admin_only(pattern: &str) -> bool {
    let path = relative(pattern);
    ["/organisers", "/techniques", "/outbox"]
        .iter()
        .any(|area| path.starts_with(area))
        || (path.starts_with("/trials/{slug}") && path.ends_with("/organisers"))
}

fn trial_scoped(pattern: &str) -> bool {
    relative(pattern).starts_with("/trials/{slug}")
}

/// What an admin sees of the fixture's trial, to show that refused requests changed nothing.
async fn trial_state(app: &TestApp, token: &str, slug: &str) -> Vec<Value> {
    let mut state = Vec::new();
    for what in ["", "/participants", "/rounds", "/organisers"] {
        let response = app
            .anonymous_client()
            .get(app.url(&format!("/api/v1/trials/{slug}{what}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "GET {slug}{what}");
        state.push(response.json().await.unwrap());
    }
    state
}

#[tokio::test]
async fn an_organiser_without_a_grant_gets_404_for_every_trial_route_and_403_for_admin_routes() {
    use crate::organiser_roles::{add_organiser, csrf_of, token_of};

    let app = spawn_app().await;
    let f = fixture(&app).await;
    let admin_token = app.api_token().await;
    let outsider = add_organiser(&app, "outsider@example.org", false).await;
    let outsider_token = token_of(&app, &outsider).await;
    let insider = add_organiser(&app, "insider@example.org", false).await;
    let insider_token = token_of(&app, &insider).await;
    let granted = app
        .anonymous_client()
        .put(app.url(&format!("/api/v1/trials/{}/organisers", f.slug)))
        .bearer_auth(&admin_token)
        .json(&json!({"organisers": ["insider@example.org"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status().as_u16(), 200);
    let before = trial_state(&app, &admin_token, &f.slug).await;

    // Every trial-scoped and admin-only route of both tables, with the outsider's session or
    // token: unknown trial for the first, admins only for the second.
    let mut checked = 0;
    for (who, client, token) in [
        ("outsider", &outsider, &outsider_token),
        ("insider", &insider, &insider_token),
    ] {
        let csrf = csrf_of(&app, client, "/admin/tokens").await;
        for (api, routes) in [(false, CONSOLE), (true, API)] {
            for (method, pattern) in routes {
                let expected = match (who, trial_scoped(pattern), admin_only(pattern)) {
                    ("outsider", true, _) => 404,
                    (_, _, true) => 403,
                    _ => continue,
                };
                let path = concrete(pattern, &f);
                let request = if api {
                    let request = app
                        .anonymous_client()
                        .request(method.parse().unwrap(), app.url(&path))
                        .bearer_auth(token);
                    if *method == "GET" {
                        request
                    } else {
                        request.json(&json!({}))
                    }
                } else if *method == "GET" {
                    client.get(app.url(&path))
                } else {
                    client.post(app.url(&path)).form(&[
                        ("csrf_token", csrf.as_str()),
                        ("email", "insider@example.org"),
                        ("action", "revoke"),
                        ("name", "x"),
                    ])
                };
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                assert_eq!(status, expected, "{who}: {method} {path}");
                let body = response.text().await.unwrap();
                if api {
                    let error: Value = serde_json::from_str(&body).unwrap();
                    assert!(error["error"].is_string(), "{who}: {method} {path}: {body}");
                } else {
                    assert!(body.contains("<html"), "{who}: {method} {path}: {body}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "only {checked} routes checked");
    assert_eq!(trial_state(&app, &admin_token, &f.slug).await, before);

    // The granted organiser gets through where the outsider did not: every trial page that
    // is not for admins opens, in the console and the API.
    for (method, pattern) in CONSOLE {
        if *method != "GET" || !trial_scoped(pattern) || admin_only(pattern) {
            continue;
        }
        if pattern.contains("{batch}") {
            continue;
        }
        let path = concrete(pattern, &f);
        let status = insider
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert!(
            matches!(status, 200 | 409),
            "insider: GET {path} answered {status}"
        );
    }
    for (method, pattern) in API {
        if *method != "GET" || !trial_scoped(pattern) || admin_only(pattern) {
            continue;
        }
        let path = concrete(pattern, &f);
        let response = app
            .anonymous_client()
            .get(app.url(&path))
            .bearer_auth(&insider_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "insider: GET {path}");
    }
}
