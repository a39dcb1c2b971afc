//! Publishing asks first, with the number of emails, and every form in the round and sign-up
//! pages answers with a redirect, so that reloading the page after it never sends it again.
use coffee_trials::domain::MembershipState;

use crate::builders::{PersonBuilder, RoundBuilder, TrialBuilder};
use crate::helpers::spawn_app;

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"]
        .to_str()
        .expect("a redirect")
        .to_string()
}

#[tokio::test]
async fn publishing_asks_first_with_the_number_of_emails_then_redirects_to_the_round() {
    let app = spawn_app().await;
    let trial = TrialBuilder::new("wards").create(&app.store).await;
    let mut ids = Vec::new();
    for (i, name) in ["Ada", "Bilal", "Chen", "Dana", "Eve", "Femi"]
        .iter()
        .enumerate()
    {
        // Femi has not confirmed: placed, but no email can go to her.
        let state = if i == 5 {
            MembershipState::Pending
        } else {
            MembershipState::Active
        };
        let p = PersonBuilder::new(name, &format!("{}@example.org", name.to_lowercase()))
            .state(state)
            .add_to(&app.store, &trial)
            .await;
        ids.push(p.membership_id);
    }
    RoundBuilder::new()
        .group(&ids[0..2])
        .group(&ids[2..4])
        .group(&ids[4..6])
        .create(&app.store, &trial)
        .await;
    app.sign_up_first_organiser().await;
    let round = "/admin/trials/wards/rounds/1";
    let confirm = format!("{round}/publish");

    // The round's page has no button that publishes: it leads to the confirmation.
    let html = app.get_html(round).await;
    assert!(html.contains(&format!("<form method=\"get\" action=\"{confirm}\">")));
    assert!(!html.contains(&format!("<form method=\"post\" action=\"{confirm}\">")));

    // A POST without the confirmation's field only leads to the confirmation.
    let unconfirmed = app.submit(round, &confirm, &[]).await;
    assert_eq!(unconfirmed.status().as_u16(), 303);
    assert_eq!(location(&unconfirmed), confirm);
    assert_eq!(app.store.list_outbox(50).await.unwrap().len(), 0);

    let page = app.get(&confirm).await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<strong>5 pairing emails</strong> to <strong>5 people</strong> in 3 groups"),
        "{html}"
    );
    assert!(html.contains("1 person placed in this round has no confirmed address"));
    assert!(html.contains("Publish and send 5 emails"));
    assert_eq!(
        app.store.list_outbox(50).await.unwrap().len(),
        0,
        "asking sends nothing"
    );

    let published = app.submit(&confirm, &confirm, &[("confirm", "yes")]).await;
    assert_eq!(published.status().as_u16(), 303);
    assert_eq!(location(&published), format!("{round}?published=5"));
    assert_eq!(app.store.list_outbox(50).await.unwrap().len(), 5);
    let html = app.get_html(&location(&published)).await;
    assert!(html.contains("Published. 5 pairing emails are on their way."));
    assert!(html.contains("id=\"delivery\""));

    // Reloading the round's page sends nothing; a second confirmed POST says so.
    app.get_html(&location(&published)).await;
    let again = app.submit(round, &confirm, &[("confirm", "yes")]).await;
    assert_eq!(location(&again), format!("{round}?published=already"));
    assert!(app
        .get_html(&location(&again))
        .await
        .contains("already published; nothing more was sent"));
    assert_eq!(app.store.list_outbox(50).await.unwrap().len(), 5);

    // A published round has nothing left to confirm.
    let later = app.get(&confirm).await;
    assert_eq!(later.status().as_u16(), 303);
    assert_eq!(location(&later), round);
}

#[tokio::test]
async fn a_sign_up_redirects_to_a_page_that_can_be_reloaded_without_signing_up_again() {
    let app = spawn_app().await;
    TrialBuilder::new("ward-9")
        .name("Coffee on ward 9")
        .create(&app.store)
        .await;
    let response = app
        .submit(
            "/t/ward-9",
            "/t/ward-9",
            &[
                ("name", "Grace Hopper"),
                ("email", "grace@example.org"),
                ("attribute_value", "Nursing"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let next = location(&response);
    assert_eq!(next, "/t/ward-9/check-email");
    assert!(!next.contains("grace"), "no address in the URL");
    assert_eq!(app.store.list_outbox(50).await.unwrap().len(), 1);

    for _ in 0..3 {
        let page = app.get(&next).await;
        assert_eq!(page.status().as_u16(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("<h1>Check your email</h1>"));
        assert!(html.contains("Coffee on ward 9"));
        assert!(!html.contains("grace@example.org"));
    }
    assert_eq!(
        app.store.list_outbox(50).await.unwrap().len(),
        1,
        "reloading sends no second confirmation"
    );
    assert_eq!(
        app.get("/t/no-such-trial/check-email")
            .await
            .status()
            .as_u16(),
        404
    );
}
