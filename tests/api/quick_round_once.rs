//! "Run a quick round now" pressed twice (a double click, a resent request) starts and emails
//! one round: the form carries a key, and the round is stored with it.
use chrono::Utc;

use crate::builders::{PersonBuilder, TrialBuilder};
use crate::helpers::{csrf_from, spawn_app};

/// The key of the quick-round form on the check-in page.
fn round_key(html: &str) -> String {
    let marker = "name=\"key\" value=\"";
    let start = html.find(marker).expect("the form carries a key") + marker.len();
    html[start..start + 32].to_string()
}

#[tokio::test]
async fn two_presses_of_one_quick_round_form_start_and_email_one_round() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = TrialBuilder::new("open-day")
        .kind("event")
        .with(|t| t.event_date = "2026-12-07".into())
        .create(&app.store)
        .await;
    for name in ["Ada", "Bilal", "Chen", "Dana"] {
        let p = PersonBuilder::new(name, &format!("{}@example.org", name.to_lowercase()))
            .add_to(&app.store, &trial)
            .await;
        app.store
            .check_in(trial.id, &p.public_id, Utc::now())
            .await
            .unwrap();
    }
    let page = "/admin/trials/open-day/event";
    let action = app.url("/admin/trials/open-day/event/rounds");
    let html = app.get_html(page).await;
    let (csrf, key) = (csrf_from(&html), round_key(&html));
    let press = || {
        app.client
            .post(&action)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("key", key.as_str()),
                ("email_pairs", "yes"),
            ])
            .send()
    };
    // Both requests are in flight together, as with a double click.
    let (first, second) = tokio::join!(press(), press());
    let (first, second) = (first.unwrap(), second.unwrap());
    let mut places = Vec::new();
    for response in [&first, &second] {
        assert_eq!(response.status().as_u16(), 303);
        let at = response.headers()["location"].to_str().unwrap().to_string();
        assert!(at.starts_with(&format!("{page}?started=1")), "{at}");
        places.push(at);
    }
    assert!(
        places.iter().any(|p| p.contains("emailed=4")),
        "one of the two ran the round and emailed: {places:?}"
    );
    assert!(app
        .store
        .find_round_by_number(trial.id, 1)
        .await
        .unwrap()
        .is_some());
    assert!(
        app.store
            .find_round_by_number(trial.id, 2)
            .await
            .unwrap()
            .is_none(),
        "one round, not two"
    );
    let pairing = app
        .store
        .list_outbox(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.template == "pairing")
        .count();
    assert_eq!(pairing, 4, "one pairing email each, once");

    // A third, later press of the same old form still finds round 1.
    let late = press().await.unwrap();
    assert!(late.headers()["location"]
        .to_str()
        .unwrap()
        .ends_with("?started=1"));

    // The page after the redirect has a new key: pressing on it is a new round.
    let html = app.get_html(page).await;
    let fresh = round_key(&html);
    assert_ne!(fresh, key);
    let next = app
        .client
        .post(&action)
        .form(&[
            ("csrf_token", csrf_from(&html).as_str()),
            ("key", fresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(next.headers()["location"]
        .to_str()
        .unwrap()
        .contains("started=2"));
}

#[tokio::test]
async fn keyed_quick_rounds_run_at_once_in_the_app_give_one_round() {
    let app = spawn_app().await;
    let trial = TrialBuilder::new("room")
        .kind("event")
        .with(|t| t.event_date = "2026-12-07".into())
        .create(&app.store)
        .await;
    for name in ["Ann", "Bob", "Cat", "Dan", "Eli", "Fay"] {
        let p = PersonBuilder::new(name, &format!("{}@example.org", name.to_lowercase()))
            .add_to(&app.store, &trial)
            .await;
        app.store
            .check_in(trial.id, &p.public_id, Utc::now())
            .await
            .unwrap();
    }
    let key = coffee_trials::app::events::new_request_key();
    let run = || {
        coffee_trials::app::events::run_quick_round_once(
            &app.store,
            &trial,
            Some(&key),
            rand::random(),
            None,
            Utc::now(),
        )
    };
    let (a, b, c) = tokio::join!(run(), run(), run());
    let done: Vec<_> = [a, b, c].into_iter().map(|r| r.unwrap()).collect();
    assert!(done.iter().all(|d| d.view.round.number == 1));
    assert_eq!(done.iter().filter(|d| !d.already_started).count(), 1);
    assert!(app
        .store
        .find_round_by_number(trial.id, 2)
        .await
        .unwrap()
        .is_none());
}
