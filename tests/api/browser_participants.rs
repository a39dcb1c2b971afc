//! A participant in a real browser: sign up, confirm through the emailed link, use the manage
//! page.
use fantoccini::Locator;

use crate::browser::start_browser;
use crate::helpers::spawn_app;
use crate::participants::{link_path, newest_email, open_trial};

#[tokio::test]
async fn participants_sign_up_confirm_and_manage_in_a_browser() {
    let Some(browser) = start_browser().await else {
        return;
    };
    let app = spawn_app().await;
    open_trial(&app, "ward-7", "Nursing\nEstates").await;

    browser.client.goto(&app.url("/t/ward-7")).await.unwrap();
    assert_eq!(browser.text_of("h1").await, "Coffee at ward-7");
    // Sending without consent keeps what was typed and points at the box.
    browser.fill("name", "Grace <b>Hopper</b>").await;
    browser.fill("email", "grace@example.org").await;
    browser
        .client
        .find(Locator::Id("attribute_value"))
        .await
        .unwrap()
        .select_by_value("Nursing")
        .await
        .unwrap();
    browser
        .fill(
            "introduction",
            "<script>alert(1)</script> Ask me about compilers.",
        )
        .await;
    browser.submit_form_of("name").await;
    assert!(!browser.text_of("#consent-error").await.is_empty());
    let typed = browser
        .client
        .find(Locator::Id("name"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(typed.as_deref(), Some("Grace <b>Hopper</b>"));
    browser
        .client
        .find(Locator::Id("consent"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.submit_form_of("name").await;
    assert_eq!(browser.text_of("h1").await, "Check your email");

    // The link in the email shows a page; its button confirms and opens the manage page.
    let confirm = link_path(&newest_email(&app).await.body_text, "/c/");
    browser.client.goto(&app.url(&confirm)).await.unwrap();
    assert!(browser
        .text_of("main")
        .await
        .contains("Grace <b>Hopper</b>"));
    browser.click(Locator::Id("confirm")).await;
    assert!(browser.path().await.starts_with("/m/"));
    assert!(browser.text_of("#notice").await.contains("confirmed"));
    assert!(browser
        .text_of("#status")
        .await
        .contains("You are taking part"));
    let intro = browser
        .client
        .find(Locator::Id("introduction"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        intro.as_deref(),
        Some("<script>alert(1)</script> Ask me about compilers."),
        "markup shows as text"
    );

    // Edit a detail, then skip the next round.
    browser.fill("role", "Rear admiral").await;
    browser.submit_form_of("role").await;
    assert!(browser.text_of("#notice").await.contains("saved"));
    browser.click(Locator::Id("skip")).await;
    assert!(browser
        .text_of("#status")
        .await
        .contains("sit out the next round"));

    // Leaving and coming back.
    browser.click(Locator::Id("leave")).await;
    assert!(browser.text_of("#status").await.contains("You have left"));
    browser.click(Locator::Id("rejoin")).await;
    assert!(browser.text_of("#notice").await.contains("Welcome back"));

    let grace = app
        .store
        .list_members(
            app.store.find_trial("ward-7").await.unwrap().unwrap().id,
            &Default::default(),
        )
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        (
            grace.state.as_str(),
            grace.role.as_str(),
            grace.skip_next_round
        ),
        ("active", "Rear admiral", true)
    );
    browser.client.clone().close().await.unwrap();
}
