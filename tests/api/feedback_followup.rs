//! Feedback follows the answer: no "how worthwhile was it?" after "not yet" or "we couldn't
//! meet", and "some of us met" in a group of three asks who met, and only those pairs count as
//! connections on the dashboard.
use chrono::Utc;
use coffee_trials::insight;
use coffee_trials::store::trials::Trial;

use crate::builders::{AddedPerson, PersonBuilder, RoundBuilder, TrialBuilder};
use crate::helpers::{spawn_app, TestApp};

/// A trial with one published group of Ada, Bilal and Chen (Nursing, Nursing, Estates).
async fn trio(app: &TestApp) -> (Trial, Vec<AddedPerson>, i64) {
    let trial = TrialBuilder::new("trio").create(&app.store).await;
    let mut people = Vec::new();
    for (name, dept) in [
        ("Ada", "Nursing"),
        ("Bilal", "Nursing"),
        ("Chen", "Estates"),
    ] {
        people.push(
            PersonBuilder::new(name, &format!("{}@example.org", name.to_lowercase()))
                .attribute(dept)
                .add_to(&app.store, &trial)
                .await,
        );
    }
    let ids: Vec<i64> = people.iter().map(|p| p.membership_id).collect();
    let round = RoundBuilder::new()
        .group(&ids)
        .published()
        .create(&app.store, &trial)
        .await;
    let group_id = app.store.round_members(round.id).await.unwrap()[0].group_id;
    (trial, people, group_id)
}

/// The path of a feedback link for one member of the group.
async fn feedback_path(app: &TestApp, membership_id: i64, group_id: i64) -> String {
    let base = url::Url::parse(&app.address).unwrap();
    let mut tx = app.store.pool().begin().await.unwrap();
    let link = coffee_trials::links::issue_feedback_link(
        &mut tx,
        membership_id,
        group_id,
        &base,
        Utc::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    link.strip_prefix(&app.address).unwrap().to_string()
}

async fn answer(app: &TestApp, path: &str, answer: &str) -> reqwest::Response {
    app.submit(path, path, &[("answer", answer)]).await
}

async fn connections(app: &TestApp, trial: &Trial) -> insight::Stats {
    let history = coffee_trials::app::dashboard::history(&app.store, trial)
        .await
        .unwrap();
    insight::compute(&history)
}

#[tokio::test]
async fn after_not_yet_or_could_not_meet_nothing_asks_how_worthwhile_it_was() {
    let app = spawn_app().await;
    let (_, people, group) = trio(&app).await;
    let path = feedback_path(&app, people[0].membership_id, group).await;
    let more = format!("{path}/more");
    for outcome in ["not_yet", "could_not_meet"] {
        let response = answer(&app, &path, outcome).await;
        assert_eq!(response.status().as_u16(), 303);
        assert_eq!(response.headers()["location"].to_str().unwrap(), more);
        let html = app.get_html(&more).await;
        assert!(html.contains("id=\"no-meeting\""), "{outcome}: {html}");
        assert!(
            !html.contains("id=\"rating\""),
            "{outcome}: no rating asked"
        );
        assert!(!html.contains("How worthwhile"), "{outcome}");
        // Sent anyway (an old page, a script): refused, nothing stored.
        let sent = app
            .submit(&path, &more, &[("rating", "5"), ("takeaway", "Great")])
            .await;
        assert_eq!(sent.status().as_u16(), 422, "{outcome}");
        let (rating,): (Option<i64>,) =
            sqlx::query_as("SELECT rating FROM feedback WHERE membership_id = $1")
                .bind(people[0].membership_id)
                .fetch_one(app.store.pool())
                .await
                .unwrap();
        assert_eq!(rating, None, "{outcome}");
    }
    // "We met" asks.
    answer(&app, &path, "met").await;
    assert!(app.get_html(&more).await.contains("id=\"rating\""));
}

#[tokio::test]
async fn some_of_us_met_asks_who_and_only_those_pairs_are_connections() {
    let app = spawn_app().await;
    let (trial, people, group) = trio(&app).await;
    let ada = feedback_path(&app, people[0].membership_id, group).await;
    let who = format!("{ada}/who");

    // Before the answer, "who met?" sends people to the question.
    assert_eq!(app.get(&who).await.status().as_u16(), 303);

    let response = answer(&app, &ada, "some_met").await;
    assert_eq!(response.headers()["location"].to_str().unwrap(), who);
    let html = app.get_html(&who).await;
    for label in ["You and Bilal", "You and Chen", "Bilal and Chen"] {
        assert!(html.contains(label), "{label}: {html}");
    }
    // The pair values are the people's public ids, never row numbers.
    let pair = |a: &AddedPerson, b: &AddedPerson| {
        let (x, y) = if a.public_id <= b.public_id {
            (&a.public_id, &b.public_id)
        } else {
            (&b.public_id, &a.public_id)
        };
        format!("{x}.{y}")
    };
    let ada_chen = pair(&people[0], &people[2]);
    assert!(html.contains(&format!("value=\"{ada_chen}\"")));

    // Nothing ticked is refused at the field; a made-up pair too.
    let none = app.submit(&who, &who, &[]).await;
    assert_eq!(none.status().as_u16(), 422);
    assert!(none.text().await.unwrap().contains("id=\"pairs-error\""));
    let made_up = app.submit(&who, &who, &[("pair", "1.2")]).await;
    assert_eq!(made_up.status().as_u16(), 422);

    // Until Ada says who, her "some of us met" makes the group count as met, but no pair.
    let s = connections(&app, &trial).await;
    assert_eq!((s.rounds[0].met, s.connections), (1, 0));

    // Only Ada and Chen met.
    let saved = app.submit(&who, &who, &[("pair", ada_chen.as_str())]).await;
    assert_eq!(saved.status().as_u16(), 303);
    assert_eq!(
        saved.headers()["location"].to_str().unwrap(),
        format!("{ada}/more")
    );
    assert!(
        app.get_html(&format!("{ada}/more"))
            .await
            .contains("id=\"rating\""),
        "a meeting happened, so it may be rated"
    );
    let s = connections(&app, &trial).await;
    assert_eq!(s.connections, 1, "Ada and Chen only");
    assert_eq!(s.cross_connections, 1);
    assert_eq!(s.heatmap.count("Nursing", "Estates"), Some(1));
    assert_eq!(s.heatmap.count("Nursing", "Nursing"), Some(0));
    // The page shows what she said when she comes back.
    let html = app.get_html(&who).await;
    assert!(html.contains(&format!("value=\"{ada_chen}\" id=\"pair-")));
    assert_eq!(html.matches(" checked>").count(), 1);

    // Chen says everyone met: all three pairs.
    let chen = feedback_path(&app, people[2].membership_id, group).await;
    answer(&app, &chen, "met").await;
    assert_eq!(connections(&app, &trial).await.connections, 3);
    // Chen changes his mind: back to Ada's one pair.
    answer(&app, &chen, "not_yet").await;
    assert_eq!(connections(&app, &trial).await.connections, 1);
    // Ada's answer changed to "met" no longer reads her pairs; back to "some of us met" does.
    answer(&app, &ada, "met").await;
    assert_eq!(connections(&app, &trial).await.connections, 3);
    answer(&app, &ada, "some_met").await;
    assert_eq!(connections(&app, &trial).await.connections, 1);
}
