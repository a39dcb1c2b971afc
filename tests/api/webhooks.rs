//! Webhooks end to end: endpoints registered through the API and the console, deliveries
//! queued by real changes, sent by the worker's own code to a receiver listening on
//! 127.0.0.1, and checked there the way a receiver would (the signature recomputed here with
//! the secret from the registration answer).
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{Duration, Utc};
use coffee_trials::domain::MembershipState;
use coffee_trials::webhooks::{deliver_due, WebhookConfig};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use coffee_trials::store::rounds::Round;
use coffee_trials::store::trials::Trial;

use crate::builders::{AddedPerson, PersonBuilder, RoundBuilder, TrialBuilder};
use crate::helpers::{spawn_app_with, TestApp};

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A webhook receiver on 127.0.0.1: answers each request with the next status of `answers`
/// (the last one repeats) and keeps what it got.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(answers: &[u16]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let answers = answers.to_vec();
        let seen = got.clone();
        tokio::spawn(async move {
            let mut n = 0usize;
            while let Ok((mut stream, _)) = listener.accept().await {
                let status = answers[n.min(answers.len() - 1)];
                n += 1;
                if let Some(received) = read_request(&mut stream).await {
                    seen.lock().unwrap().push(received);
                }
                let body = if status == 200 {
                    "thanks"
                } else {
                    "receiver is broken today"
                };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
        });
        Self { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        headers,
        body: String::from_utf8_lossy(&buf[head_end..]).to_string(),
    })
}

/// Checks a delivery as a Standard Webhooks receiver does, computed here from the spec.
fn signature_is_valid(secret: &str, r: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .unwrap();
    let (Some(id), Some(ts), Some(sig)) = (
        r.header("webhook-id"),
        r.header("webhook-timestamp"),
        r.header("webhook-signature"),
    ) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{}", r.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    sig.split(' ').any(|s| s == expected)
}

/// An app whose background loops are off (delivery is driven here) and that accepts
/// http endpoints on loopback, signed in, with an API token.
async fn app() -> (TestApp, String) {
    let app = spawn_app_with(|s| {
        s.background_loops = false;
        s.webhooks_allow_http_loopback = true;
    })
    .await;
    app.sign_up_first_organiser().await;
    let token = app.api_token().await;
    (app, token)
}

fn config(app: &TestApp) -> WebhookConfig {
    WebhookConfig::from_settings(&app.settings)
}

/// Ada and Bob, taking part in `trial`: the two people most tests here need.
async fn ada_and_bob(app: &TestApp, trial: &Trial) -> (AddedPerson, AddedPerson) {
    let ada = PersonBuilder::new("Ada Lovelace", "ada@example.org")
        .add_to(&app.store, trial)
        .await;
    let bob = PersonBuilder::new("Bob Babbage", "bob@example.org")
        .add_to(&app.store, trial)
        .await;
    (ada, bob)
}

/// A published round of `trial` that pairs `a` with `b`.
async fn publish_pair(app: &TestApp, trial: &Trial, a: &AddedPerson, b: &AddedPerson) -> Round {
    RoundBuilder::new()
        .group(&[a.membership_id, b.membership_id])
        .published()
        .create(&app.store, trial)
        .await
}

async fn register(app: &TestApp, token: &str, slug: &str, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/trials/{slug}/webhooks")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_published_round_is_delivered_signed_with_public_ids_only() {
    let (app, token) = app().await;
    let trial = TrialBuilder::new("lunch").create(&app.store).await;
    let receiver = Receiver::start(&[200]).await;
    let (status, endpoint) = register(
        &app,
        &token,
        "lunch",
        json!({"url": receiver.url, "events": ["round.published"]}),
    )
    .await;
    assert_eq!(status, 201, "{endpoint}");
    let secret = endpoint["secret"]
        .as_str()
        .expect("the secret, once")
        .to_string();
    assert!(secret.starts_with("whsec_"));

    let (ada, bob) = ada_and_bob(&app, &trial).await;
    publish_pair(&app, &trial, &ada, &bob).await;

    let outcomes = deliver_due(&app.store, &config(&app), Utc::now())
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 1);
    assert!(outcomes[0].sent, "{outcomes:?}");
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert!(
        signature_is_valid(&secret, &got[0]),
        "the signature checks out"
    );
    assert!(!signature_is_valid(
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &got[0]
    ));
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["type"], "round.published");
    assert_eq!(body["data"]["trial"], "lunch");
    let members = &body["data"]["round"]["groups"][0]["members"];
    let mut ids: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![ada.public_id.as_str(), bob.public_id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert!(!got[0].body.contains("Ada") && !got[0].body.contains("@example.org"));

    // Sent once: nothing is due any more, and the secret is not in any later answer.
    assert!(deliver_due(&app.store, &config(&app), Utc::now())
        .await
        .unwrap()
        .is_empty());
    let listed = app
        .client
        .get(app.url("/api/v1/trials/lunch/webhooks"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listed.contains(&secret));
    assert!(listed.contains("\"state\":\"sent\""), "{listed}");
}

#[tokio::test]
async fn names_and_addresses_go_only_where_the_organiser_allowed_them() {
    let (app, token) = app().await;
    let trial = TrialBuilder::new("lunch").create(&app.store).await;
    let receiver = Receiver::start(&[200]).await;
    let (status, _) = register(
        &app,
        &token,
        "lunch",
        json!({"url": receiver.url, "events": ["round.published"], "personal_data": true}),
    )
    .await;
    assert_eq!(status, 201);
    let (ada, bob) = ada_and_bob(&app, &trial).await;
    publish_pair(&app, &trial, &ada, &bob).await;
    deliver_due(&app.store, &config(&app), Utc::now())
        .await
        .unwrap();
    let body = &receiver.received()[0].body;
    assert!(
        body.contains("Ada Lovelace") && body.contains("bob@example.org"),
        "{body}"
    );
}

#[tokio::test]
async fn a_delivery_answered_500_is_tried_again_and_the_console_shows_the_answer() {
    let (app, token) = app().await;
    let trial = TrialBuilder::new("lunch").create(&app.store).await;
    let receiver = Receiver::start(&[500, 200]).await;
    let (_, endpoint) = register(
        &app,
        &token,
        "lunch",
        json!({"url": receiver.url, "events": ["participant.left"]}),
    )
    .await;
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    let ada = PersonBuilder::new("Ada Lovelace", "ada@example.org")
        .add_to(&app.store, &trial)
        .await;
    let removed = app
        .client
        .post(app.url(&format!(
            "/api/v1/trials/lunch/participants/{}/remove",
            ada.public_id
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status().as_u16(), 200);

    let now = Utc::now();
    let first = deliver_due(&app.store, &config(&app), now).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(!first[0].sent && first[0].will_retry);
    assert_eq!(first[0].status, Some(500));
    let page = app.get_html("/admin/trials/lunch/webhooks").await;
    assert!(
        page.contains("500") && page.contains("receiver is broken today"),
        "{page}"
    );
    assert!(page.contains("Failing since"));
    assert!(!page.contains(&secret), "the secret is shown only once");
    // Not due again at once...
    assert!(deliver_due(&app.store, &config(&app), now)
        .await
        .unwrap()
        .is_empty());
    // ...but after the backoff.
    let second = deliver_due(&app.store, &config(&app), now + Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert!(second[0].sent, "{second:?}");
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(got[0].body, got[1].body);
    assert!(signature_is_valid(&secret, &got[1]));
    let body: Value = serde_json::from_str(&got[1].body).unwrap();
    assert_eq!(body["type"], "participant.left");
    assert_eq!(body["data"]["participant"]["id"], ada.public_id.as_str());
    let page = app.get_html("/admin/trials/lunch/webhooks").await;
    assert!(!page.contains("Failing since"), "working again");
}

#[tokio::test]
async fn nothing_is_sent_for_an_event_not_subscribed() {
    let (app, token) = app().await;
    let trial = TrialBuilder::new("lunch").create(&app.store).await;
    let receiver = Receiver::start(&[200]).await;
    register(
        &app,
        &token,
        "lunch",
        json!({"url": receiver.url, "events": ["feedback.recorded"]}),
    )
    .await;
    let (ada, bob) = ada_and_bob(&app, &trial).await;
    publish_pair(&app, &trial, &ada, &bob).await;
    app.store
        .set_member_state(bob.membership_id, MembershipState::Left, None, Utc::now())
        .await
        .unwrap();
    assert!(deliver_due(&app.store, &config(&app), Utc::now())
        .await
        .unwrap()
        .is_empty());
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn a_chat_channel_gets_an_announcement_without_personal_data() {
    let (app, token) = app().await;
    let trial = TrialBuilder::new("lunch")
        .name("Lunch & Learn")
        .create(&app.store)
        .await;
    let receiver = Receiver::start(&[200]).await;
    let (status, endpoint) = register(
        &app,
        &token,
        "lunch",
        // Events and personal data asked for are ignored for a channel.
        json!({"url": receiver.url, "kind": "slack", "events": ["participant.left"], "personal_data": true}),
    )
    .await;
    assert_eq!(status, 201, "{endpoint}");
    assert!(endpoint.get("secret").is_none());
    assert_eq!(endpoint["events"], json!(["round.published"]));
    let mut people = Vec::new();
    for (name, email, dept) in [
        ("Ada Lovelace", "ada@example.org", "Surgery"),
        ("Bob Babbage", "bob@example.org", "Pharmacy"),
        ("Cy Young", "cy@example.org", "Pharmacy"),
        ("Di Prince", "di@example.org", "Radiology"),
    ] {
        people.push(
            PersonBuilder::new(name, email)
                .attribute(dept)
                .add_to(&app.store, &trial)
                .await,
        );
    }
    RoundBuilder::new()
        .group(&[people[0].membership_id, people[1].membership_id])
        .group(&[people[2].membership_id, people[3].membership_id])
        .published()
        .create(&app.store, &trial)
        .await;
    let outcomes = deliver_due(&app.store, &config(&app), Utc::now())
        .await
        .unwrap();
    assert!(outcomes[0].sent, "{outcomes:?}");
    let got = receiver.received();
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    let text = body["text"].as_str().expect("Slack's text field");
    assert!(
        text.starts_with(
            "Round 1 of Lunch & Learn: 4 people paired across 3 departments; check your email."
        ),
        "{text}"
    );
    assert!(
        text.contains("/techniques"),
        "a link to the library: {text}"
    );
    for p in &people {
        assert!(!got[0].body.contains(&p.public_id));
    }
    for private in ["Ada", "Bob", "Lovelace", "@example.org", "Surgery"] {
        assert!(
            !got[0].body.contains(private),
            "{private} in {}",
            got[0].body
        );
    }
    assert!(got[0].header("webhook-signature").is_none());
}

#[tokio::test]
async fn addresses_that_lead_inside_are_refused() {
    let app = spawn_app_with(|s| s.background_loops = false).await;
    app.sign_up_first_organiser().await;
    let token = app.api_token().await;
    TrialBuilder::new("lunch").create(&app.store).await;
    let receiver = Receiver::start(&[200]).await;
    for url in [
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/hook",
        receiver.url.as_str(),
        "http://93.184.216.34/hook",
        "https://[fd00::1]/hook",
        "https://100.64.0.1/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "file:///etc/passwd",
    ] {
        let (status, body) = register(
            &app,
            &token,
            "lunch",
            json!({"url": url, "events": ["round.published"]}),
        )
        .await;
        assert_eq!(status, 422, "{url}: {body}");
        assert_eq!(body["field"], "url", "{url}");
    }
    // The console form says so next to the field and keeps what was typed.
    let response = app
        .submit(
            "/admin/trials/lunch/webhooks",
            "/admin/trials/lunch/webhooks",
            &[
                ("url", "https://192.168.1.1/hook"),
                ("kind", "webhook"),
                ("events", "round.published"),
                ("description", "the intranet"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("id=\"url-error\""), "{page}");
    assert!(page.contains("value=\"https://192.168.1.1/hook\"") && page.contains("the intranet"));
}

#[tokio::test]
async fn an_address_is_checked_again_before_each_delivery() {
    let (app, token) = app().await;
    let trial = TrialBuilder::new("lunch").create(&app.store).await;
    let receiver = Receiver::start(&[200]).await;
    register(
        &app,
        &token,
        "lunch",
        json!({"url": receiver.url, "events": ["round.published"]}),
    )
    .await;
    let (ada, bob) = ada_and_bob(&app, &trial).await;
    publish_pair(&app, &trial, &ada, &bob).await;
    // A worker without the setting refuses the loopback address it was registered with.
    let strict = WebhookConfig {
        allow_http_loopback: false,
        ..config(&app)
    };
    let outcomes = deliver_due(&app.store, &strict, Utc::now()).await.unwrap();
    assert_eq!(outcomes.len(), 1);
    assert!(!outcomes[0].sent);
    assert!(outcomes[0].error.as_deref().unwrap().contains("not sent"));
    assert!(
        receiver.received().is_empty(),
        "nothing reached the receiver"
    );
}

#[tokio::test]
async fn an_endpoint_failing_for_days_is_switched_off_and_the_organisers_are_told() {
    let (app, token) = app().await;
    let trial = TrialBuilder::new("lunch").create(&app.store).await;
    let receiver = Receiver::start(&[503]).await;
    let (_, endpoint) = register(
        &app,
        &token,
        "lunch",
        json!({"url": receiver.url, "events": ["participant.left", "event.checked_in"]}),
    )
    .await;
    let id = endpoint["id"].as_i64().unwrap();
    let ada = PersonBuilder::new("Ada Lovelace", "ada@example.org")
        .add_to(&app.store, &trial)
        .await;
    app.store
        .set_member_state(ada.membership_id, MembershipState::Left, None, Utc::now())
        .await
        .unwrap();
    let start = Utc::now();
    let first = deliver_due(&app.store, &config(&app), start).await.unwrap();
    assert!(!first[0].switched_off);
    let later = start + Duration::days(3) + Duration::minutes(1);
    let second = deliver_due(&app.store, &config(&app), later).await.unwrap();
    assert_eq!(second.len(), 1);
    assert!(second[0].switched_off, "{second:?}");
    let listed: Value = app
        .client
        .get(app.url("/api/v1/trials/lunch/webhooks"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let shown = &listed["webhooks"][0];
    assert_eq!(shown["id"], id);
    assert_eq!(shown["enabled"], false);
    assert_eq!(shown["last_status"], 503);
    let mails = app.store.list_outbox(10).await.unwrap();
    let told: Vec<_> = mails
        .iter()
        .filter(|m| m.template == "webhook_switched_off")
        .collect();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].to_address, crate::helpers::ORGANISER_EMAIL);
    assert!(told[0].body_text.contains("/admin/trials/lunch/webhooks"));
    // Nothing more is queued for it, and an organiser can switch it back on.
    let bob = PersonBuilder::new("Bob Babbage", "bob@example.org")
        .add_to(&app.store, &trial)
        .await;
    app.store
        .set_member_state(bob.membership_id, MembershipState::Left, None, Utc::now())
        .await
        .unwrap();
    assert!(deliver_due(&app.store, &config(&app), later)
        .await
        .unwrap()
        .is_empty());
    let page = app.get_html("/admin/trials/lunch/webhooks").await;
    assert!(page.contains(&format!("id=\"switched-off-{id}\"")));
    let enabled = app
        .submit(
            "/admin/trials/lunch/webhooks",
            &format!("/admin/trials/lunch/webhooks/{id}/enable"),
            &[],
        )
        .await;
    assert_eq!(enabled.status().as_u16(), 303);
    let page = app.get_html("/admin/trials/lunch/webhooks").await;
    assert!(!page.contains(&format!("id=\"switched-off-{id}\"")));
}

#[tokio::test]
async fn the_console_shows_the_secret_once_and_deletes_an_endpoint() {
    let (app, _token) = app().await;
    TrialBuilder::new("lunch").create(&app.store).await;
    let receiver = Receiver::start(&[200]).await;
    let response = app
        .submit(
            "/admin/trials/lunch/webhooks",
            "/admin/trials/lunch/webhooks",
            &[
                ("url", receiver.url.as_str()),
                ("kind", "webhook"),
                ("events", "participant.confirmed"),
                ("events", "event.checked_in"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let page = response.text().await.unwrap();
    let marker = "<code id=\"new-secret\">";
    let start = page.find(marker).expect("the secret is shown") + marker.len();
    let secret = &page[start..start + page[start..].find('<').unwrap()];
    assert!(secret.starts_with("whsec_"));
    assert!(page.contains("participant.confirmed, event.checked_in"));
    let again = app.get_html("/admin/trials/lunch/webhooks").await;
    assert!(!again.contains(secret) && !again.contains("new-secret"));
    let id_marker = "id=\"webhook-";
    let at = again.find(id_marker).unwrap() + id_marker.len();
    let id = &again[at..at + again[at..].find('"').unwrap()];
    let deleted = app
        .submit(
            "/admin/trials/lunch/webhooks",
            &format!("/admin/trials/lunch/webhooks/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(deleted.status().as_u16(), 303);
    assert!(app
        .get_html("/admin/trials/lunch/webhooks")
        .await
        .contains("No endpoints yet."));
}

#[tokio::test]
async fn check_ins_and_feedback_are_delivered_once_each() {
    let (app, token) = app().await;
    let trial = TrialBuilder::new("party")
        .kind("event")
        .create(&app.store)
        .await;
    let receiver = Receiver::start(&[200]).await;
    register(
        &app,
        &token,
        "party",
        json!({"url": receiver.url, "events": ["event.checked_in", "feedback.recorded"]}),
    )
    .await;
    let (ada, bob) = ada_and_bob(&app, &trial).await;
    for _ in 0..2 {
        coffee_trials::app::events::check_in(&app.store, &trial, &ada.public_id, Utc::now())
            .await
            .unwrap();
    }
    let round = publish_pair(&app, &trial, &ada, &bob).await;
    let group_id = app.store.round_members(round.id).await.unwrap()[0].group_id;
    app.store
        .upsert_feedback_answer(group_id, bob.membership_id, "met", Utc::now())
        .await
        .unwrap();
    let outcomes = deliver_due(&app.store, &config(&app), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        outcomes.len(),
        2,
        "one check-in (ticked twice) and one answer"
    );
    let bodies: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(bodies[0]["type"], "event.checked_in");
    assert_eq!(
        bodies[0]["data"]["participant"]["id"],
        ada.public_id.as_str()
    );
    assert_eq!(bodies[1]["type"], "feedback.recorded");
    assert_eq!(bodies[1]["data"]["outcome"], "met");
    assert_eq!(bodies[1]["data"]["round"], 1);
}

#[tokio::test]
async fn a_quick_round_at_an_event_is_announced_as_published() {
    let (app, token) = app().await;
    let trial = TrialBuilder::new("study-day")
        .kind("event")
        .create(&app.store)
        .await;
    let receiver = Receiver::start(&[200]).await;
    register(
        &app,
        &token,
        "study-day",
        json!({"url": receiver.url, "events": ["round.published"]}),
    )
    .await;
    let mut people = Vec::new();
    for (name, email) in [
        ("Ada Lovelace", "ada@example.org"),
        ("Bob Babbage", "bob@example.org"),
        ("Cy Shannon", "cy@example.org"),
        ("Di Hopper", "di@example.org"),
    ] {
        let p = PersonBuilder::new(name, email)
            .add_to(&app.store, &trial)
            .await;
        coffee_trials::app::events::check_in(&app.store, &trial, &p.public_id, Utc::now())
            .await
            .unwrap();
        people.push(p);
    }
    let run = coffee_trials::app::events::run_quick_round(&app.store, &trial, 3, None, Utc::now())
        .await
        .unwrap();
    deliver_due(&app.store, &config(&app), Utc::now())
        .await
        .unwrap();
    let bodies: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(bodies.len(), 1, "one quick round, one delivery: {bodies:?}");
    assert_eq!(bodies[0]["type"], "round.published");
    assert_eq!(bodies[0]["data"]["trial"], "study-day");
    let groups = bodies[0]["data"]["round"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), run.view.groups.len());
    let placed: usize = groups
        .iter()
        .map(|g| g["members"].as_array().unwrap().len())
        .sum();
    assert_eq!(placed, people.len(), "{}", bodies[0]);
}
