//! Safe publishing, the do-not-pair chooser and feedback that follows the answer, walked in a
//! real browser as a person would (see `browser.rs`: skipped without chromedriver, and failing
//! without it when CI=true).
use fantoccini::Locator;

use crate::browser::{start_browser, Browser};
use crate::builders::{PersonBuilder, RoundBuilder, TrialBuilder};
use crate::do_not_pair_search::manage_path;
use crate::helpers::{spawn_app, TestApp, ORGANISER_EMAIL, ORGANISER_PASSWORD};

async fn sign_in(browser: &Browser, app: &TestApp) {
    browser.client.goto(&app.url("/admin/login")).await.unwrap();
    browser.fill("email", ORGANISER_EMAIL).await;
    browser.fill("password", ORGANISER_PASSWORD).await;
    browser.submit_form_of("password").await;
    assert_eq!(browser.path().await, "/admin", "signed in");
}

async fn outbox_len(app: &TestApp) -> usize {
    app.store.list_outbox(100).await.unwrap().len()
}

/// The button whose text is exactly `text`.
fn button(text: &str) -> String {
    format!("//button[normalize-space(.)='{text}']")
}

#[tokio::test]
async fn an_organiser_confirms_before_publishing_and_a_reload_sends_nothing() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = TrialBuilder::new("wards").create(&app.store).await;
    let mut ids = Vec::new();
    for name in ["Ada", "Bilal", "Chen", "Dana"] {
        let p = PersonBuilder::new(name, &format!("{}@example.org", name.to_lowercase()))
            .add_to(&app.store, &trial)
            .await;
        ids.push(p.membership_id);
    }
    RoundBuilder::new()
        .group(&ids[0..2])
        .group(&ids[2..4])
        .create(&app.store, &trial)
        .await;
    sign_in(&browser, &app).await;
    browser
        .client
        .goto(&app.url("/admin/trials/wards/rounds/1"))
        .await
        .unwrap();
    browser.click(Locator::Id("publish")).await;
    assert_eq!(browser.path().await, "/admin/trials/wards/rounds/1/publish");
    assert!(browser
        .text_of("#publish-summary")
        .await
        .contains("4 pairing emails to 4 people in 2 groups"));
    assert_eq!(outbox_len(&app).await, 0, "nothing sent by asking");
    browser.click(Locator::Id("confirm-publish")).await;
    assert_eq!(browser.path().await, "/admin/trials/wards/rounds/1");
    assert!(browser
        .text_of(".notice[role=status]")
        .await
        .contains("4 pairing emails are on their way"));
    assert_eq!(outbox_len(&app).await, 4);
    // Reloading the page the browser landed on is a GET: nothing is sent again.
    browser.client.refresh().await.unwrap();
    assert_eq!(browser.path().await, "/admin/trials/wards/rounds/1");
    assert_eq!(outbox_len(&app).await, 4);
    browser.client.clone().close().await.unwrap();
}

#[tokio::test]
async fn a_participant_finds_someone_by_name_and_feedback_follows_the_answer() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    let trial = TrialBuilder::new("trio").create(&app.store).await;
    let mut people = Vec::new();
    for name in ["Grace Hopper", "Bilal Khan", "Chen Wu", "Alan Turing"] {
        let email = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
        people.push(
            PersonBuilder::new(name, &email)
                .add_to(&app.store, &trial)
                .await,
        );
    }
    let round = RoundBuilder::new()
        .group(&[
            people[0].membership_id,
            people[1].membership_id,
            people[2].membership_id,
        ])
        .published()
        .create(&app.store, &trial)
        .await;

    // The manage page names only the two she was paired with; Alan is found by typing.
    let manage = manage_path(&app, people[0].membership_id).await;
    browser.client.goto(&app.url(&manage)).await.unwrap();
    let section = browser.text_of("main").await;
    assert!(section.contains("Bilal Khan") && section.contains("Chen Wu"));
    assert!(!section.contains("Alan Turing"));
    browser.fill("q", "tur").await;
    browser.submit_form_of("q").await;
    assert!(browser.text_of("#found").await.contains("Alan Turing"));
    browser
        .click(Locator::XPath(&button("Add Alan Turing")))
        .await;
    assert!(browser.path().await.starts_with("/m/"));
    assert!(browser
        .text_of("#do-not-pair-list")
        .await
        .contains("Alan Turing"));
    assert!(browser.text_of("#notice").await.contains("Added"));

    // Grace: "some of us met" asks who, then the details.
    let group_id = app.store.round_members(round.id).await.unwrap()[0].group_id;
    let base = url::Url::parse(&app.address).unwrap();
    let mut tx = app.store.pool().begin().await.unwrap();
    let mut links = Vec::new();
    for p in &people[0..2] {
        links.push(
            coffee_trials::links::issue_feedback_link(
                &mut tx,
                p.membership_id,
                group_id,
                &base,
                chrono::Utc::now(),
            )
            .await
            .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    browser.client.goto(&links[0]).await.unwrap();
    browser.click(Locator::Id("answer-some_met")).await;
    assert!(browser.path().await.ends_with("/who"));
    assert_eq!(browser.text_of("h1").await, "Who met?");
    browser
        .client
        .find(Locator::XPath(
            "//label[contains(., 'You and Chen Wu')]/input",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.click(Locator::Id("save-who")).await;
    assert!(browser.path().await.ends_with("/more"));
    assert!(browser.client.find(Locator::Id("rating")).await.is_ok());

    // Bilal: "not yet" is thanked, and not asked how worthwhile it was.
    browser.client.goto(&links[1]).await.unwrap();
    browser.click(Locator::Id("answer-not_yet")).await;
    assert!(browser.path().await.ends_with("/more"));
    assert!(!browser.text_of("#no-meeting").await.is_empty());
    assert!(browser.client.find(Locator::Id("rating")).await.is_err());
    browser.client.clone().close().await.unwrap();
}
