//! Participants through HTTP: sign-up, confirmation, the manage page and its actions, the JSON
//! API, hostile input, duplicate sign-ups, token expiry and reuse, rate limits, unsubscribing.
use chrono::{Duration, Utc};
use coffee_trials::domain::{MembershipState, ParticipantDetails, ParticipantInput};
use coffee_trials::domain::{TrialInput, TrialSettings};
use coffee_trials::store::outbox::QueuedEmail;
use coffee_trials::store::participants::{add_member, AddOutcome, Member, MemberQuery};
use coffee_trials::store::trials::Trial;
use serde_json::{json, Value};

use crate::builders::RoundBuilder;
use crate::helpers::{csrf_from, spawn_app, spawn_app_with, TestApp};

pub async fn open_trial(app: &TestApp, slug: &str, values: &str) -> Trial {
    let input = TrialInput {
        name: format!("Coffee at {slug}"),
        slug: slug.into(),
        attribute_values: values.into(),
        ..Default::default()
    };
    app.store
        .create_trial(&TrialSettings::try_from(&input).unwrap(), Utc::now())
        .await
        .unwrap()
}

const GRACE: &[(&str, &str)] = &[
    ("name", "Grace Hopper"),
    ("email", "Grace@Example.org"),
    ("attribute_value", "nursing"),
    ("meeting_modes", "video"),
    ("meeting_modes", "phone"),
    ("introduction", "Ask me about compilers."),
    ("consent", "yes"),
];

async fn sign_up(app: &TestApp, slug: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let page = format!("/t/{slug}");
    app.submit(&page, &page, fields).await
}

/// The fields of GRACE with some replaced or removed (an empty value removes the field).
fn grace_with(changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = GRACE
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in changes {
        if !v.is_empty() || *k != "consent" {
            fields.push((k.to_string(), v.to_string()));
        }
    }
    fields
}

fn as_refs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

pub async fn newest_email(app: &TestApp) -> QueuedEmail {
    app.store
        .list_outbox(1)
        .await
        .unwrap()
        .pop()
        .expect("an email in the outbox")
}

/// The path of the first link in `text` that starts with `prefix` and carries a token.
pub fn link_path(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {text}"));
    let token: String = text[start + prefix.len()..].chars().take(64).collect();
    assert!(
        coffee_trials::tokens::looks_like_token(&token),
        "a token after {prefix}: {token}"
    );
    format!("{prefix}{token}")
}

async fn member(app: &TestApp, trial: &Trial, email: &str) -> Member {
    app.store
        .list_members(trial.id, &MemberQuery::default())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.email.as_deref() == Some(email))
        .unwrap_or_else(|| panic!("{email} is a member"))
}

async fn member_by_id(app: &TestApp, id: i64) -> Member {
    app.store.find_member_by_id(id).await.unwrap().unwrap()
}

/// Posts a form on the manage page (with its CSRF token) and returns the response.
async fn manage_post(
    app: &TestApp,
    manage: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    app.submit(manage, &format!("{manage}/{action}"), fields)
        .await
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_string()
}

/// Adds a confirmed member directly, as an organiser's import would.
async fn add_active(app: &TestApp, trial: &Trial, name: &str, email: &str) -> i64 {
    let input = ParticipantInput {
        name: name.into(),
        email: email.into(),
        attribute_value: "Estates".into(),
        ..Default::default()
    };
    let details = ParticipantDetails::parse(&input, &trial.attribute_value_list()).unwrap();
    let mut tx = app.store.pool().begin().await.unwrap();
    let outcome = add_member(
        &mut tx,
        trial.id,
        &details,
        MembershipState::Active,
        Some(Utc::now()),
        Utc::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    match outcome {
        AddOutcome::Added { membership_id, .. } => membership_id,
        other => panic!("{other:?}"),
    }
}

/// A manage link for a member, as an email to them would carry.
async fn manage_link_for(app: &TestApp, membership_id: i64) -> String {
    let base = url::Url::parse(&app.address).unwrap();
    let mut tx = app.store.pool().begin().await.unwrap();
    let links = coffee_trials::links::issue_links(&mut tx, membership_id, &base, Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    links.manage.strip_prefix(&app.address).unwrap().to_string()
}

async fn count(app: &TestApp, sql: &str, id: i64) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(id)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn participants_whole_journey_from_sign_up_to_erasure() {
    let app = spawn_app().await;
    let trial = open_trial(&app, "ward-7", "Nursing\nEstates").await;

    let page = app.get_html("/t/ward-7").await;
    assert!(page.contains("Privacy notice") && page.contains("For how long"));
    assert!(page.contains("name=\"consent\""));

    let response = sign_up(&app, "ward-7", GRACE).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(location(&response), "/t/ward-7/check-email");
    assert!(app
        .get_html("/t/ward-7/check-email")
        .await
        .contains("Check your email"));

    // Double opt-in: pending until the link is followed, and the email went out with it.
    let grace = member(&app, &trial, "grace@example.org").await;
    assert_eq!(grace.state, MembershipState::Pending);
    assert_eq!(grace.attribute_value, "Nursing");
    assert_eq!(grace.meeting_modes, "video,phone");
    assert!(grace.consent_at.is_some());
    let email = newest_email(&app).await;
    assert_eq!(email.template, "participant_confirm");
    assert_eq!(email.to_address, "grace@example.org");
    let confirm = link_path(&email.body_text, "/c/");
    assert!(email.body_html.contains(&confirm));
    assert!(
        email.body_text.contains("/m/"),
        "every email has a manage link"
    );

    // Opening the link changes nothing; the button does.
    let page = app.get(&confirm).await;
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(
        member_by_id(&app, grace.membership_id).await.state,
        MembershipState::Pending
    );
    let response = app.submit(&confirm, &confirm, &[]).await;
    assert_eq!(response.status().as_u16(), 303);
    let manage = location(&response).split('?').next().unwrap().to_string();
    assert!(manage.starts_with("/m/"));
    let grace = member_by_id(&app, grace.membership_id).await;
    assert_eq!(grace.state, MembershipState::Active);
    assert!(grace.confirmed_at.is_some());
    let html = app.get_html(&location(&response)).await;
    assert!(html.contains("your address is confirmed"));

    // Edit details.
    let response = manage_post(
        &app,
        &manage,
        "details",
        &[
            ("name", "Grace B. Hopper"),
            ("attribute_value", "Estates"),
            ("role", "Rear admiral"),
            ("site", "Arlington"),
            ("meeting_modes", "in_person"),
            ("introduction", "Nanoseconds, anyone?"),
        ],
    )
    .await;
    assert_eq!(response.status().as_u16(), 303);
    let grace = member_by_id(&app, grace.membership_id).await;
    assert_eq!(
        (
            grace.name.as_str(),
            grace.attribute_value.as_str(),
            grace.role.as_str()
        ),
        ("Grace B. Hopper", "Estates", "Rear admiral")
    );
    assert_eq!(grace.meeting_modes, "in_person");
    assert_eq!(grace.email.as_deref(), Some("grace@example.org"));
    let response = manage_post(&app, &manage, "details", &[("name", "")]).await;
    assert_eq!(response.status().as_u16(), 422);
    assert!(response.text().await.unwrap().contains("id=\"name-error\""));

    // Pause until a date, then come back.
    let until = (Utc::now() + Duration::days(14)).date_naive().to_string();
    let response = manage_post(&app, &manage, "pause", &[("until", &until)]).await;
    assert_eq!(response.status().as_u16(), 303);
    let grace = member_by_id(&app, grace.membership_id).await;
    assert_eq!(grace.state, MembershipState::Paused);
    assert!(coffee_trials::store::time::to_db(grace.paused_until.unwrap()).starts_with(&until));
    let html = app.get_html(&manage).await;
    assert!(html.contains(&format!("paused until {until}")));
    let response = manage_post(&app, &manage, "pause", &[("until", "2001-01-01")]).await;
    assert_eq!(response.status().as_u16(), 422);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("id=\"until-error\""));
    manage_post(&app, &manage, "resume", &[]).await;
    assert_eq!(
        member_by_id(&app, grace.membership_id).await.state,
        MembershipState::Active
    );

    // Skip the next round, and change one's mind.
    manage_post(&app, &manage, "skip", &[("skip", "yes")]).await;
    assert!(
        member_by_id(&app, grace.membership_id)
            .await
            .skip_next_round
    );
    manage_post(&app, &manage, "skip", &[("skip", "no")]).await;
    assert!(
        !member_by_id(&app, grace.membership_id)
            .await
            .skip_next_round
    );

    // A private do-not-pair list, chosen by name (searched for: the page lists nobody).
    let alan_id = add_active(&app, &trial, "Alan Turing", "alan@example.org").await;
    let alan = member_by_id(&app, alan_id).await;
    assert!(!app.get_html(&manage).await.contains("Alan Turing"));
    let html = app.get_html(&format!("{manage}/do-not-pair?q=alan")).await;
    assert!(html.contains("Alan Turing"));
    assert!(
        !html.contains("alan@example.org"),
        "addresses are never shown"
    );
    let response = manage_post(&app, &manage, "do-not-pair", &[("person", &alan.public_id)]).await;
    assert_eq!(response.status().as_u16(), 303);
    let sql = "SELECT COUNT(*) FROM do_not_pair WHERE membership_id = $1";
    assert_eq!(count(&app, sql, grace.membership_id).await, 1);
    let alan_manage = manage_link_for(&app, alan_id).await;
    let alan_page = app
        .get_html(&format!("{alan_manage}/do-not-pair?q=grace"))
        .await;
    assert!(
        alan_page.contains("Grace B. Hopper"),
        "Grace can be found by Alan"
    );
    assert!(
        !app.get_html(&alan_manage).await.contains("Grace B. Hopper")
            && !alan_page.contains("already on your list"),
        "but Alan never sees Grace's list"
    );

    // Export.
    let response = app.get(&format!("{manage}/export")).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("attachment"));
    let data: Value = response.json().await.unwrap();
    assert_eq!(data["name"], "Grace B. Hopper");
    assert_eq!(data["email"], "grace@example.org");
    assert_eq!(data["memberships"][0]["trial"]["slug"], "ward-7");
    assert_eq!(
        data["memberships"][0]["do_not_pair"],
        json!(["Alan Turing"])
    );
    assert_eq!(
        data["memberships"][0]["meeting_modes"],
        json!(["in_person"])
    );

    // Leave, and come back without losing anything.
    manage_post(&app, &manage, "leave", &[]).await;
    let left = member_by_id(&app, grace.membership_id).await;
    assert_eq!(left.state, MembershipState::Left);
    assert_eq!(left.role, "Rear admiral");
    manage_post(&app, &manage, "rejoin", &[]).await;
    assert_eq!(
        member_by_id(&app, grace.membership_id).await.state,
        MembershipState::Active
    );

    // A published round pairing Grace with Alan, to prove history survives erasure.
    let round = RoundBuilder::new()
        .group(&[grace.membership_id, alan_id])
        .published()
        .create(&app.store, &trial)
        .await;
    // Alan's own list names Grace, as his manage page would save it.
    app.store
        .set_do_not_pair(&alan, std::slice::from_ref(&grace.public_id), Utc::now())
        .await
        .unwrap();
    let alan_export: Value = app
        .get(&format!("{alan_manage}/export"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        alan_export["memberships"][0]["rounds"][0]["partners"],
        json!(["Grace B. Hopper"])
    );

    // Delete me: the page asks first, the button erases.
    let erase = format!("{manage}/erase");
    assert_eq!(app.get(&erase).await.status().as_u16(), 200);
    assert_eq!(
        member_by_id(&app, grace.membership_id).await.state,
        MembershipState::Active
    );
    let response = app.submit(&erase, &erase, &[]).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(location(&response), "/data-deleted");
    assert!(app.get_html("/data-deleted").await.contains("deleted"));
    let erased = member_by_id(&app, grace.membership_id).await;
    assert_eq!(erased.state, MembershipState::Erased);
    assert_eq!(erased.name, "Former participant");
    assert_eq!(erased.email, None);
    assert_eq!(
        (
            erased.role.as_str(),
            erased.site.as_str(),
            erased.introduction.as_str()
        ),
        ("", "", "")
    );
    assert_eq!(
        erased.attribute_value, "Estates",
        "a category from the list stays"
    );
    let sql = "SELECT COUNT(*) FROM round_group_members gm \
               JOIN round_groups g ON g.id = gm.group_id WHERE g.round_id = $1";
    assert_eq!(
        count(&app, sql, round.id).await,
        2,
        "history keeps both rows"
    );
    let sql = "SELECT COUNT(*) FROM one_time_tokens WHERE membership_id = $1";
    assert_eq!(count(&app, sql, grace.membership_id).await, 0);
    let sql =
        "SELECT COUNT(*) FROM do_not_pair WHERE membership_id = $1 OR other_membership_id = $1";
    assert_eq!(count(&app, sql, grace.membership_id).await, 0);
    let sql = "SELECT COUNT(*) FROM outbox WHERE to_address = 'grace@example.org' AND $1 = $1";
    assert_eq!(
        count(&app, sql, 0).await,
        0,
        "no copy of her address is left"
    );
    assert_eq!(app.get(&manage).await.status().as_u16(), 410);
    let alan_export: Value = app
        .get(&format!("{alan_manage}/export"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        alan_export["memberships"][0]["rounds"][0]["partners"],
        json!(["Former participant"])
    );
    assert_eq!(alan_export["memberships"][0]["do_not_pair"], json!([]));
}

#[tokio::test]
async fn participants_hostile_inputs_are_refused_at_the_field() {
    let app = spawn_app().await;
    open_trial(&app, "ward-7", "Nursing\nEstates").await;
    let long = "x".repeat(101);
    let long_role = "r".repeat(81);
    let long_intro = "i".repeat(281);
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("email", "not-an-email")], "email"),
        (&[("email", "a b@example.org")], "email"),
        (&[("name", "   ")], "name"),
        (&[("name", &long)], "name"),
        (&[("name", "Ada\u{7}Lovelace")], "name"),
        (&[("role", &long_role)], "role"),
        (&[("site", "Main\u{1b}[31m site")], "site"),
        (&[("introduction", &long_intro)], "introduction"),
        (&[("attribute_value", "Catering")], "attribute_value"),
        (&[("meeting_modes", "carrier pigeon")], "meeting_modes"),
        (&[("consent", "")], "consent"),
        (
            &[("name", "<script>alert(1)</script>"), ("email", "nope")],
            "email",
        ),
    ];
    for (changes, field) in cases {
        let fields = grace_with(changes);
        let response = sign_up(&app, "ward-7", &as_refs(&fields)).await;
        assert_eq!(response.status().as_u16(), 422, "{changes:?}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{changes:?}"
        );
        assert!(!html.contains("<script>alert"), "typed HTML is escaped");
        if *field != "name" {
            assert!(
                html.contains("value=\"Grace Hopper\"") || html.contains("&#60;script"),
                "what was typed is kept: {changes:?}"
            );
        }

        let mut body = json!({ "trial": "ward-7", "consent": true, "meeting_modes": [] });
        for (k, v) in fields.iter() {
            match k.as_str() {
                "meeting_modes" => body["meeting_modes"].as_array_mut().unwrap().push(json!(v)),
                "consent" => {}
                _ => body[k] = json!(v),
            }
        }
        if !fields.iter().any(|(k, _)| k == "consent") {
            body["consent"] = json!(false);
        }
        let response = app
            .client
            .post(app.url("/api/v1/public/signups"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 422, "API {changes:?}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["field"], json!(field), "API {changes:?}");
        assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()));
    }
    assert!(
        app.store.list_outbox(10).await.unwrap().is_empty(),
        "nothing was sent"
    );

    // Unknown and closed trials.
    assert_eq!(sign_up_unknown(&app).await, 404);
    let response = app
        .client
        .post(app.url("/api/v1/public/signups"))
        .json(
            &json!({ "trial": "nowhere", "name": "A", "email": "a@example.org", "consent": true }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    assert_eq!(response.json::<Value>().await.unwrap()["field"], "trial");
    let page = app.get_html("/t/ward-7").await;
    let csrf = csrf_from(&page);
    let mut settings = TrialSettings::try_from(&TrialInput {
        name: "Coffee at ward-7".into(),
        slug: "ward-7".into(),
        attribute_values: "Nursing\nEstates".into(),
        open_for_signup: false,
        ..Default::default()
    })
    .unwrap();
    settings.open_for_signup = false;
    app.store
        .update_trial("ward-7", &settings, Utc::now())
        .await
        .unwrap();
    let mut fields = vec![("csrf_token", csrf.as_str())];
    fields.extend_from_slice(GRACE);
    let response = app
        .client
        .post(app.url("/t/ward-7"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"trial-error\""));
    assert!(
        html.contains("value=\"Grace Hopper\""),
        "what was typed is kept"
    );
    let response = app
        .client
        .post(app.url("/api/v1/public/signups"))
        .json(&json!({ "trial": "ward-7", "name": "A", "email": "a@example.org", "consent": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    assert_eq!(response.json::<Value>().await.unwrap()["field"], "trial");
}

async fn sign_up_unknown(app: &TestApp) -> u16 {
    let page = app.get_html("/t/ward-7").await;
    let csrf = csrf_from(&page);
    app.client
        .post(app.url("/t/no-such-trial"))
        .form(&[("csrf_token", csrf.as_str()), ("name", "A")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn participants_oversized_bodies_and_missing_csrf_are_refused() {
    let app = spawn_app().await;
    open_trial(&app, "ward-7", "").await;
    let huge = "x".repeat(40 * 1024);
    let fields = grace_with(&[("introduction", &huge)]);
    let response = sign_up(&app, "ward-7", &as_refs(&fields)).await;
    assert_eq!(response.status().as_u16(), 413);
    let response = app
        .client
        .post(app.url("/api/v1/public/signups"))
        .json(&json!({ "trial": "ward-7", "introduction": "x".repeat(100 * 1024) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    assert!(response.json::<Value>().await.unwrap()["error"].is_string());

    let response = app
        .anonymous_client()
        .post(app.url("/t/ward-7"))
        .form(GRACE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert!(app.store.list_outbox(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn participants_html_in_names_shows_as_text_in_pages_and_emails() {
    let app = spawn_app().await;
    open_trial(&app, "ward-7", "").await;
    let fields = grace_with(&[
        ("name", "<script>alert('x')</script>"),
        ("attribute_value", "<b>Research</b>"),
        ("introduction", "<img src=x onerror=alert(1)>"),
    ]);
    assert_eq!(
        sign_up(&app, "ward-7", &as_refs(&fields))
            .await
            .status()
            .as_u16(),
        303
    );
    let email = newest_email(&app).await;
    assert!(!email.body_html.contains("<script>"));
    assert!(email.body_html.contains("&#60;script&#62;"));
    let confirm = link_path(&email.body_text, "/c/");
    let html = app.get_html(&confirm).await;
    assert!(!html.contains("<script>alert") && html.contains("&#60;script&#62;"));
    let response = app.submit(&confirm, &confirm, &[]).await;
    let html = app.get_html(&location(&response)).await;
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains("<b>Research"));
    assert!(html.contains("&#60;img src=x"));
}

#[tokio::test]
async fn participants_duplicate_sign_up_reveals_nothing_and_duplicates_nothing() {
    let app = spawn_app().await;
    let trial = open_trial(&app, "ward-7", "Nursing\nEstates").await;
    let first = sign_up(&app, "ward-7", GRACE).await.text().await.unwrap();
    let new_address = grace_with(&[("email", "someone.new@example.org")]);
    let other = sign_up(&app, "ward-7", &as_refs(&new_address))
        .await
        .text()
        .await
        .unwrap();
    let again = sign_up(&app, "ward-7", GRACE).await.text().await.unwrap();
    assert_eq!(
        first, again,
        "the page is the same whether the address was known"
    );
    assert_eq!(first, other);
    let email = newest_email(&app).await;
    assert_eq!(
        email.template, "participant_confirm",
        "still unconfirmed: a fresh link"
    );

    let confirm = link_path(&email.body_text, "/c/");
    let response = app.submit(&confirm, &confirm, &[]).await;
    let manage = location(&response).split('?').next().unwrap().to_string();
    let impostor = grace_with(&[("name", "Someone Else"), ("attribute_value", "Estates")]);
    let response = sign_up(&app, "ward-7", &as_refs(&impostor)).await;
    assert_eq!(response.text().await.unwrap(), first);
    let email = newest_email(&app).await;
    assert_eq!(email.template, "participant_already");
    assert_eq!(email.to_address, "grace@example.org");
    assert!(email.body_text.contains("nothing has changed"));
    assert!(email.body_text.contains("/m/"));
    let members = app
        .store
        .list_members(trial.id, &MemberQuery::default())
        .await
        .unwrap();
    assert_eq!(members.len(), 2);
    let grace = member(&app, &trial, "grace@example.org").await;
    assert_eq!(
        (grace.name.as_str(), grace.attribute_value.as_str()),
        ("Grace Hopper", "Nursing")
    );

    // Someone who left and signs up again gets a confirmation, and comes back as they were.
    manage_post(&app, &manage, "leave", &[]).await;
    sign_up(&app, "ward-7", &as_refs(&impostor)).await;
    let email = newest_email(&app).await;
    assert_eq!(email.template, "participant_confirm");
    assert!(email.subject.contains("Welcome back"));
    assert_eq!(
        member_by_id(&app, grace.membership_id).await.state,
        MembershipState::Left
    );
    let confirm = link_path(&email.body_text, "/c/");
    app.submit(&confirm, &confirm, &[]).await;
    let back = member_by_id(&app, grace.membership_id).await;
    assert_eq!(
        (back.state.as_str(), back.name.as_str()),
        ("active", "Grace Hopper")
    );
}

#[tokio::test]
async fn participants_tokens_are_hashed_expire_and_work_once() {
    let app = spawn_app().await;
    open_trial(&app, "ward-7", "Nursing\nEstates").await;
    sign_up(&app, "ward-7", GRACE).await;
    let confirm = link_path(&newest_email(&app).await.body_text, "/c/");
    let token = confirm.strip_prefix("/c/").unwrap();
    let stored: Vec<(String, String, String)> =
        sqlx::query_as("SELECT token_hash, purpose, expires_at FROM one_time_tokens")
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    assert!(
        stored.iter().all(|(hash, _, _)| hash != token),
        "only hashes are stored"
    );
    let (_, _, expires) = stored.iter().find(|(_, p, _)| p == "confirm").unwrap();
    let expires = coffee_trials::store::time::from_db(expires).unwrap();
    let days = (expires - Utc::now()).num_hours();
    assert!(
        (7 * 24 - 1..=7 * 24).contains(&days),
        "confirmation lasts 7 days"
    );

    // Reused.
    let response = app.submit(&confirm, &confirm, &[]).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(app.get(&confirm).await.status().as_u16(), 410);
    let response = app.submit("/t/ward-7", &confirm, &[]).await;
    assert_eq!(response.status().as_u16(), 410);
    let response = app
        .client
        .post(app.url(&format!("/api/v1/public/confirm/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 410);
    assert_eq!(response.json::<Value>().await.unwrap()["field"], "token");

    // Expired.
    let fields = grace_with(&[("email", "late@example.org")]);
    sign_up(&app, "ward-7", &as_refs(&fields)).await;
    let late = link_path(&newest_email(&app).await.body_text, "/c/");
    let manage = link_path(&newest_email(&app).await.body_text, "/m/");
    sqlx::query("UPDATE one_time_tokens SET expires_at = $1")
        .bind(coffee_trials::store::time::to_db(
            Utc::now() - Duration::minutes(1),
        ))
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(app.get(&late).await.status().as_u16(), 410);
    assert_eq!(
        app.submit("/t/ward-7", &late, &[]).await.status().as_u16(),
        410
    );
    assert_eq!(app.get(&manage).await.status().as_u16(), 410);

    // Made up.
    assert_eq!(app.get("/c/not-a-token").await.status().as_u16(), 410);
    assert_eq!(
        app.get(&format!("/m/{}", "0".repeat(64)))
            .await
            .status()
            .as_u16(),
        410
    );
}

/// Links emailed before link tokens began with the time they were made: 64 random hex digits,
/// stored as their bare hash. They must go on working until they expire.
#[tokio::test]
async fn participants_links_sent_before_link_tokens_carried_their_time_still_work() {
    use coffee_trials::store::signup::{insert_link_token, LinkPurpose};
    use coffee_trials::tokens::{hash_token, new_token};
    let app = spawn_app().await;
    let trial = open_trial(&app, "ward-7", "Nursing\nEstates").await;
    let id = add_active(&app, &trial, "Grace Hopper", "grace@example.org").await;
    let now = Utc::now();
    let old = new_token();
    let mut tx = app.store.pool().begin().await.unwrap();
    insert_link_token(
        &mut tx,
        LinkPurpose::Manage,
        id,
        &hash_token(&old),
        now,
        now + Duration::days(30),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let new = manage_link_for(&app, id).await;
    let new_token = new.strip_prefix("/m/").unwrap();
    assert!(new_token.starts_with('z'), "{new_token}");
    let stored: Vec<(String,)> =
        sqlx::query_as("SELECT token_hash FROM one_time_tokens WHERE membership_id = $1")
            .bind(id)
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    assert!(stored
        .iter()
        .any(|(h,)| h.len() == 64 && !h.starts_with('z')));
    assert!(stored
        .iter()
        .any(|(h,)| h.len() == 76 && h.starts_with(&new_token[..12])));

    for path in [format!("/m/{old}"), new.clone()] {
        let page = app.get(&path).await;
        assert_eq!(page.status().as_u16(), 200, "{path}");
        assert!(
            page.text().await.unwrap().contains("Grace Hopper"),
            "{path}"
        );
    }
    // Each kind of token is only its own: the old token with a mark in front, or a made-up
    // token of the new kind, opens nothing.
    for made_up in [format!("z{}", &old[1..]), format!("z{}", "0".repeat(63))] {
        let page = app.get(&format!("/m/{made_up}")).await;
        assert_eq!(page.status().as_u16(), 410, "{made_up}");
    }
}

#[tokio::test]
async fn participants_sign_ups_are_rate_limited_per_address_and_per_email() {
    let app = spawn_app_with(|s| {
        s.signup_limit_per_email = 2;
        s.signup_limit_per_ip = 4;
    })
    .await;
    open_trial(&app, "ward-7", "Nursing\nEstates").await;
    assert_eq!(sign_up(&app, "ward-7", GRACE).await.status().as_u16(), 303);
    assert_eq!(sign_up(&app, "ward-7", GRACE).await.status().as_u16(), 303);
    let response = sign_up(&app, "ward-7", GRACE).await;
    assert_eq!(
        response.status().as_u16(),
        429,
        "third for the same address"
    );
    assert!(response.headers().contains_key("retry-after"));
    assert!(response.text().await.unwrap().contains("Too many sign-ups"));
    let other = grace_with(&[("email", "other@example.org")]);
    assert_eq!(
        sign_up(&app, "ward-7", &as_refs(&other))
            .await
            .status()
            .as_u16(),
        303
    );
    let third = grace_with(&[("email", "third@example.org")]);
    let response = sign_up(&app, "ward-7", &as_refs(&third)).await;
    assert_eq!(
        response.status().as_u16(),
        429,
        "fifth from the same address"
    );
    let response = app
        .client
        .post(app.url("/api/v1/public/signups"))
        .json(&json!({ "trial": "ward-7", "name": "A", "email": "a@example.org", "consent": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.json::<Value>().await.unwrap()["error"].is_string());
    assert_eq!(app.store.list_outbox(10).await.unwrap().len(), 3);
}

#[tokio::test]
async fn participants_unsubscribe_by_one_click_or_by_page() {
    let app = spawn_app().await;
    let trial = open_trial(&app, "ward-7", "Nursing\nEstates").await;
    let base = url::Url::parse(&app.address).unwrap();
    let alan = add_active(&app, &trial, "Alan Turing", "alan@example.org").await;
    let mut tx = app.store.pool().begin().await.unwrap();
    let links = coffee_trials::links::issue_links(&mut tx, alan, &base, Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let headers: Value = serde_json::from_str(&links.list_unsubscribe_headers()).unwrap();
    assert_eq!(
        headers["List-Unsubscribe-Post"],
        "List-Unsubscribe=One-Click"
    );
    assert_eq!(
        headers["List-Unsubscribe"],
        json!(format!("<{}>", links.one_click))
    );

    // RFC 8058: a bare POST from the mail provider, no cookies, no CSRF token.
    let client = reqwest::Client::new();
    let response = client
        .post(&links.one_click)
        .body("")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        400,
        "only the RFC 8058 body counts"
    );
    assert_eq!(
        member_by_id(&app, alan).await.state,
        MembershipState::Active
    );
    let response = client
        .post(&links.one_click)
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(member_by_id(&app, alan).await.state, MembershipState::Left);

    // The plain link asks first.
    let ada = add_active(&app, &trial, "Ada Lovelace", "ada@example.org").await;
    let mut tx = app.store.pool().begin().await.unwrap();
    let links = coffee_trials::links::issue_links(&mut tx, ada, &base, Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let path = links
        .unsubscribe
        .strip_prefix(&app.address)
        .unwrap()
        .to_string();
    assert_eq!(app.get(&path).await.status().as_u16(), 200);
    assert_eq!(member_by_id(&app, ada).await.state, MembershipState::Active);
    let response = client
        .post(app.url(&path))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        403,
        "the page's own form needs its token"
    );
    let response = app.submit(&path, &path, &[]).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(location(&response), format!("{path}?done=left"));
    assert_eq!(member_by_id(&app, ada).await.state, MembershipState::Left);
    let done = app.get_html(&location(&response)).await;
    assert!(done.contains("id=\"left\""), "{done}");
}

async fn api(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn participants_json_api_mirrors_the_pages() {
    use reqwest::Method;
    let app = spawn_app().await;
    let trial = open_trial(&app, "ward-7", "Nursing\nEstates").await;
    let (status, body) = api(
        &app,
        Method::POST,
        "/api/v1/public/signups",
        Some(json!({
            "trial": "ward-7", "name": "Grace Hopper", "email": "grace@example.org",
            "attribute_value": "Nursing", "meeting_modes": ["video"], "consent": true
        })),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "check_your_email");
    let confirm = link_path(&newest_email(&app).await.body_text, "/c/");
    let token = confirm.strip_prefix("/c/").unwrap();
    let (status, body) = api(
        &app,
        Method::POST,
        &format!("/api/v1/public/confirm/{token}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["participant"]["state"], "active");
    let m = format!(
        "/api/v1/public/manage/{}",
        body["manage_token"].as_str().unwrap()
    );

    let (status, me) = api(&app, Method::GET, &m, None).await;
    assert_eq!(status, 200);
    assert_eq!(me["name"], "Grace Hopper");
    assert_eq!(
        me["trial"]["attribute_values"],
        json!(["Nursing", "Estates"])
    );

    let (status, me) = api(
        &app,
        Method::PUT,
        &m,
        Some(json!({ "name": "Grace B. Hopper", "attribute_value": "estates", "meeting_modes": ["phone"], "introduction": "Hi" })),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["name"].as_str(), me["attribute_value"].as_str()),
        (Some("Grace B. Hopper"), Some("Estates"))
    );
    let (status, error) = api(&app, Method::PUT, &m, Some(json!({ "name": "" }))).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("name")));

    let until = (Utc::now() + Duration::days(3)).date_naive().to_string();
    let (status, me) = api(
        &app,
        Method::POST,
        &format!("{m}/pause"),
        Some(json!({ "until": until })),
    )
    .await;
    assert_eq!((status, me["state"].as_str()), (200, Some("paused")));
    assert_eq!(me["paused_until"], json!(until));
    let (status, error) = api(
        &app,
        Method::POST,
        &format!("{m}/pause"),
        Some(json!({ "until": "soon" })),
    )
    .await;
    assert_eq!((status, error["field"].as_str()), (422, Some("until")));
    let (_, me) = api(&app, Method::POST, &format!("{m}/resume"), None).await;
    assert_eq!(me["state"], "active");
    let (_, me) = api(
        &app,
        Method::POST,
        &format!("{m}/skip"),
        Some(json!({ "skip": true })),
    )
    .await;
    assert_eq!(me["skip_next_round"], true);
    let (_, me) = api(
        &app,
        Method::POST,
        &format!("{m}/skip"),
        Some(json!({ "skip": false })),
    )
    .await;
    assert_eq!(me["skip_next_round"], false);

    let alan = add_active(&app, &trial, "Alan Turing", "alan@example.org").await;
    let alan = member_by_id(&app, alan).await;
    let (status, list) = api(&app, Method::GET, &format!("{m}/do-not-pair"), None).await;
    assert_eq!(status, 200);
    // Never the whole trial: only people paired with or chosen (none yet).
    assert_eq!(list["candidates"], json!([]));
    let (status, list) = api(
        &app,
        Method::PUT,
        &format!("{m}/do-not-pair"),
        Some(json!({ "people": [alan.public_id] })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["chosen"][0]["name"], "Alan Turing");
    let (status, error) = api(
        &app,
        Method::PUT,
        &format!("{m}/do-not-pair"),
        Some(json!({ "people": ["<script>"] })),
    )
    .await;
    assert_eq!((status, error["field"].as_str()), (422, Some("people")));

    let (status, data) = api(&app, Method::GET, &format!("{m}/export"), None).await;
    assert_eq!(status, 200);
    assert_eq!(data["email"], "grace@example.org");
    assert_eq!(
        data["memberships"][0]["do_not_pair"],
        json!(["Alan Turing"])
    );

    let (_, me) = api(&app, Method::POST, &format!("{m}/leave"), None).await;
    assert_eq!(me["state"], "left");
    let (status, error) = api(&app, Method::POST, &format!("{m}/skip"), None).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("state")));
    let (_, me) = api(&app, Method::POST, &format!("{m}/rejoin"), None).await;
    assert_eq!(me["state"], "active");

    let (status, _) = api(&app, Method::DELETE, &m, None).await;
    assert_eq!(status, 204);
    let (status, error) = api(&app, Method::GET, &m, None).await;
    assert_eq!((status, error["field"].as_str()), (410, Some("token")));
    let grace = app
        .store
        .list_members(trial.id, &MemberQuery::default())
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.state == MembershipState::Erased)
        .expect("erased, not deleted");
    assert_eq!(
        (grace.name.as_str(), grace.email),
        ("Former participant", None)
    );
}

#[tokio::test]
async fn participants_manage_pages_for_pending_members_do_not_offer_pausing() {
    let app = spawn_app().await;
    let trial = open_trial(&app, "ward-7", "Nursing\nEstates").await;
    sign_up(&app, "ward-7", GRACE).await;
    let manage = link_path(&newest_email(&app).await.body_text, "/m/");
    let html = app.get_html(&manage).await;
    assert!(html.contains("not confirmed your email address yet"));
    assert!(!html.contains("/pause\""), "no pausing before confirming");
    let response = manage_post(&app, &manage, "skip", &[("skip", "yes")]).await;
    assert_eq!(response.status().as_u16(), 422);
    let grace = member(&app, &trial, "grace@example.org").await;
    assert_eq!(
        (grace.state.as_str(), grace.skip_next_round),
        ("pending", false)
    );
}

#[tokio::test]
async fn participants_an_old_confirmation_link_after_leaving_proves_the_address_only() {
    let app = spawn_app().await;
    let trial = open_trial(&app, "ward-9", "Nursing\nEstates").await;
    sign_up(&app, "ward-9", GRACE).await;
    let email = newest_email(&app).await;
    let confirm = link_path(&email.body_text, "/c/");
    let manage = link_path(&email.body_text, "/m/");
    // They leave before confirming (from the manage link in the same email)...
    let left = manage_post(&app, &manage, "leave", &[]).await;
    assert_eq!(left.status().as_u16(), 303);
    let grace = member(&app, &trial, "grace@example.org").await;
    assert_eq!(grace.state, MembershipState::Left);

    // ...and later follow the old confirmation link: the address is proven, they stay out.
    let response = app.submit(&confirm, &confirm, &[]).await;
    assert_eq!(response.status().as_u16(), 303);
    assert!(location(&response).ends_with("?done=confirmed-left"));
    let grace = member_by_id(&app, grace.membership_id).await;
    assert_eq!(grace.state, MembershipState::Left);
    assert!(grace.confirmed_at.is_some());
    let html = app.get_html(&location(&response)).await;
    assert!(
        html.contains("You are not taking part at the moment"),
        "{html}"
    );
}
