//! The do-not-pair chooser on a participant's page: nobody's name is listed unless searched
//! for (two letters at least, ten names at most, so many searches an hour) or paired with
//! before; people are added and removed one at a time by POST.
use chrono::Utc;
use coffee_trials::domain::MembershipState;

use crate::builders::{AddedPerson, PersonBuilder, RoundBuilder, TrialBuilder};
use crate::helpers::{spawn_app, TestApp};

pub async fn manage_path(app: &TestApp, membership_id: i64) -> String {
    let base = url::Url::parse(&app.address).unwrap();
    let mut tx = app.store.pool().begin().await.unwrap();
    let links = coffee_trials::links::issue_links(&mut tx, membership_id, &base, Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    links.manage.strip_prefix(&app.address).unwrap().to_string()
}

async fn person(
    app: &TestApp,
    trial: &coffee_trials::store::trials::Trial,
    name: &str,
) -> AddedPerson {
    let email = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
    PersonBuilder::new(name, &email)
        .add_to(&app.store, trial)
        .await
}

/// How many `<li>` items the search page's result list has.
fn found(html: &str) -> usize {
    match html.find("<ul id=\"found\">") {
        Some(start) => {
            let list = &html[start..start + html[start..].find("</ul>").unwrap()];
            list.matches("<li>").count()
        }
        None => 0,
    }
}

#[tokio::test]
async fn the_chooser_lists_nobody_finds_a_few_by_name_and_adds_and_removes_one_at_a_time() {
    let app = spawn_app().await;
    let trial = TrialBuilder::new("big-trial").create(&app.store).await;
    let grace = person(&app, &trial, "Grace Hopper").await;
    let bob = person(&app, &trial, "Bob Brown").await;
    let alan = person(&app, &trial, "Alan Turing").await;
    for i in 0..12 {
        person(&app, &trial, &format!("Anna Number{i:02}")).await;
    }
    PersonBuilder::new("Anne Gone", "anne.gone@example.org")
        .state(MembershipState::Left)
        .add_to(&app.store, &trial)
        .await;
    RoundBuilder::new()
        .group(&[grace.membership_id, bob.membership_id])
        .published()
        .create(&app.store, &trial)
        .await;
    let manage = manage_path(&app, grace.membership_id).await;

    // The page names only the person Grace was paired with, with a button to add him.
    let page = app.get_html(&manage).await;
    assert!(page.contains("Add Bob Brown"), "{page}");
    for stranger in ["Alan Turing", "Anna Number", "Anne Gone"] {
        assert!(!page.contains(stranger), "{stranger} is listed");
    }
    assert!(page.contains("id=\"do-not-pair-search\""));

    // One letter is refused; two find at most ten, and say there are more.
    let short = app.get(&format!("{manage}/do-not-pair?q=a")).await;
    assert_eq!(short.status().as_u16(), 422);
    let html = short.text().await.unwrap();
    assert!(html.contains("id=\"q-error\""));
    assert_eq!(found(&html), 0);
    let html = app.get_html(&format!("{manage}/do-not-pair?q=ANN")).await;
    assert_eq!(found(&html), 10, "{html}");
    assert!(html.contains("id=\"more\""));
    assert!(
        !html.contains("Anne Gone"),
        "people who left are not offered"
    );
    assert!(!html.contains("anna.number"), "never an address");
    // Addresses are not searched: "example" is in every address and no name.
    let html = app
        .get_html(&format!("{manage}/do-not-pair?q=example"))
        .await;
    assert!(html.contains("id=\"nobody\""));
    // Grace does not find herself.
    let html = app
        .get_html(&format!("{manage}/do-not-pair?q=hopper"))
        .await;
    assert_eq!(found(&html), 0);

    // Add Alan from the search, and Bob from the people she was paired with.
    let html = app
        .get_html(&format!("{manage}/do-not-pair?q=turing"))
        .await;
    assert_eq!(found(&html), 1);
    assert!(html.contains("Add Alan Turing"));
    let add = format!("{manage}/do-not-pair/add");
    for who in [&alan, &bob] {
        let done = app
            .submit(&manage, &add, &[("person", who.public_id.as_str())])
            .await;
        assert_eq!(done.status().as_u16(), 303);
        assert!(done.headers()["location"]
            .to_str()
            .unwrap()
            .contains("done=do-not-pair-added"));
    }
    let page = app.get_html(&manage).await;
    assert!(page.contains("Remove Alan Turing") && page.contains("Remove Bob Brown"));
    assert!(!page.contains("Add Bob Brown"));
    let html = app
        .get_html(&format!("{manage}/do-not-pair?q=turing"))
        .await;
    assert!(html.contains("already on your list"));
    let (chosen, _) = coffee_trials::app::participants::do_not_pair(
        &app.store,
        &app.store
            .find_member_by_id(grace.membership_id)
            .await
            .unwrap()
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(chosen.len(), 2);

    // Remove Alan again.
    let remove = format!("{manage}/do-not-pair/remove");
    let done = app
        .submit(&manage, &remove, &[("person", alan.public_id.as_str())])
        .await;
    assert_eq!(done.status().as_u16(), 303);
    let page = app.get_html(&manage).await;
    assert!(!page.contains("Alan Turing") && page.contains("Remove Bob Brown"));

    // Made-up ids are refused at the field.
    let bad = app.submit(&manage, &add, &[("person", "<script>")]).await;
    assert_eq!(bad.status().as_u16(), 422);
    assert!(bad.text().await.unwrap().contains("id=\"people-error\""));

    // Alan cannot see Grace's list.
    let alan_manage = manage_path(&app, alan.membership_id).await;
    let alan_page = app.get_html(&alan_manage).await;
    assert!(!alan_page.contains("Bob Brown") && !alan_page.contains("Grace Hopper"));
}

#[tokio::test]
async fn the_search_is_limited_so_names_cannot_be_read_out_ten_at_a_time() {
    let app = spawn_app().await;
    let trial = TrialBuilder::new("limited").create(&app.store).await;
    let grace = person(&app, &trial, "Grace Hopper").await;
    person(&app, &trial, "Alan Turing").await;
    let manage = manage_path(&app, grace.membership_id).await;
    let limit = coffee_trials::app::participants::SEARCHES_PER_PERSON as usize;
    let mut refused_at = None;
    for i in 0..limit + 2 {
        let response = app.get(&format!("{manage}/do-not-pair?q=tu")).await;
        match response.status().as_u16() {
            200 => assert!(response.text().await.unwrap().contains("Alan Turing")),
            429 => {
                let html = response.text().await.unwrap();
                assert!(html.contains("id=\"limit-error\""));
                assert!(!html.contains("Alan Turing"), "no names once refused");
                refused_at = Some(i);
                break;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(
        refused_at,
        Some(limit),
        "the first search past the limit is refused"
    );
    // The manage page itself still works.
    assert_eq!(app.get(&manage).await.status().as_u16(), 200);
}

#[tokio::test]
async fn the_privacy_notice_says_who_can_see_names() {
    let app = spawn_app().await;
    TrialBuilder::new("notice").create(&app.store).await;
    let html = app.get_html("/t/notice").await;
    assert!(html.contains("Who can see your name:"));
    assert!(html.contains("at least two letters"));
}
