//! Participant search answers alike on both backends, whatever the letters: names and
//! addresses are folded in Rust into `participants.search_key` (store::search).
use chrono::Utc;
use coffee_trials::domain::{ParticipantDetails, ParticipantInput};
use coffee_trials::store::participants::MemberQuery;
use coffee_trials::store::Store;

use crate::builders::{PersonBuilder, TrialBuilder};
use crate::helpers::TestStore;

const PEOPLE: [(&str, &str); 5] = [
    ("Émile Zola", "emile@example.org"),
    ("ÅSA BERG", "asa@example.org"),
    ("Łukasz Nowak", "lukasz@example.org"),
    ("Hans Straße", "HANS@Example.org"),
    ("Ann Smith", "ann@example.org"),
];

/// A store of its own holding a trial of [`PEOPLE`]; answers the trial's id.
async fn store_with_people() -> (TestStore, i64) {
    let store = TestStore::new().await;
    let trial = TrialBuilder::new("search")
        .name("Search")
        .create(&store)
        .await;
    for (name, email) in PEOPLE {
        PersonBuilder::new(name, email).add_to(&store, &trial).await;
    }
    (store, trial.id)
}

fn details(name: &str, email: &str) -> ParticipantDetails {
    let input = ParticipantInput {
        name: name.into(),
        email: email.into(),
        ..Default::default()
    };
    ParticipantDetails::parse(&input, &[]).unwrap()
}

/// The names a search finds, checking that the count for paging agrees.
async fn found(store: &Store, trial_id: i64, search: &str) -> Vec<String> {
    let query = MemberQuery {
        search: Some(search.into()),
        ..Default::default()
    };
    let names: Vec<String> = store
        .list_members(trial_id, &query)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    let counted = store
        .count_members(trial_id, Some(search), None)
        .await
        .unwrap();
    assert_eq!(counted, names.len() as i64, "{search}");
    names
}

#[tokio::test]
async fn search_finds_non_ascii_names_in_any_case() {
    let (store, trial_id) = store_with_people().await;
    for (search, expected) in [
        ("émile", &["Émile Zola"][..]),
        ("ÉMILE", &["Émile Zola"]),
        ("åsa", &["ÅSA BERG"]),
        ("Åsa b", &["ÅSA BERG"]),
        ("łukasz", &["Łukasz Nowak"]),
        ("ŁUKASZ", &["Łukasz Nowak"]),
        ("STRASSE", &["Hans Straße"]),
        ("straße", &["Hans Straße"]),
        ("hans@example", &["Hans Straße"]),
        ("ANN@", &["Ann Smith"]),
        // Accents are letters of their own, as on PostgreSQL.
        ("emile z", &[]),
        // A wildcard is a character to find, not a pattern.
        ("%", &[]),
    ] {
        assert_eq!(found(&store, trial_id, search).await, expected, "{search}");
    }
}

#[tokio::test]
async fn a_new_name_is_found_and_the_old_one_no_longer() {
    let (store, trial_id) = store_with_people().await;
    let query = MemberQuery {
        search: Some("ann@example.org".into()),
        ..Default::default()
    };
    let ann = store
        .list_members(trial_id, &query)
        .await
        .unwrap()
        .remove(0);
    store
        .update_member_details(&ann, &details("Ännie Öberg", "ann@example.org"), Utc::now())
        .await
        .unwrap();
    assert_eq!(found(&store, trial_id, "ÄNNIE ö").await, ["Ännie Öberg"]);
    assert!(found(&store, trial_id, "smith").await.is_empty());
    // The address is still part of the key after the change of name.
    assert_eq!(found(&store, trial_id, "ANN@").await, ["Ännie Öberg"]);
}

/// Rows from before migration 0014 have no key; the next start computes it in Rust.
#[tokio::test]
async fn keys_missing_from_older_rows_are_filled_when_the_store_migrates() {
    let (store, trial_id) = store_with_people().await;
    sqlx::query("UPDATE participants SET search_key = NULL")
        .execute(store.pool())
        .await
        .unwrap();
    assert!(found(&store, trial_id, "émile").await.is_empty());
    store.migrate().await.unwrap();
    assert_eq!(found(&store, trial_id, "ÉMILE").await, ["Émile Zola"]);
    assert_eq!(
        found(&store, trial_id, "example.org").await.len(),
        PEOPLE.len()
    );
}

/// The same through the console page and the JSON API.
#[tokio::test]
async fn the_console_and_the_api_find_non_ascii_names_in_any_case() {
    // Import queues invitations; nothing here needs them sent.
    let app = crate::helpers::spawn_app_without_loops().await;
    app.sign_up_first_organiser().await;
    crate::import::trial(&app, "folk", "").await;
    let csv = "name,email\nÉmile Zola,emile@example.org\nÅsa Berg,asa@example.org\n";
    let page = crate::import::preview_of(&app, "folk", csv.as_bytes()).await;
    crate::import::import_from(&app, &page, true).await;

    let html = app
        .get_html("/admin/trials/folk/participants?search=%C3%A9MILE")
        .await;
    assert!(html.contains("1 matching"), "{html}");
    assert!(html.contains("Zola") && !html.contains("Berg"));

    let token = app.api_token().await;
    let listed: serde_json::Value = app
        .client
        .get(app.url("/api/v1/trials/folk/participants?search=%C3%85SA"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["participants"][0]["name"], "Åsa Berg");
}
