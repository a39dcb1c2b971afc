//! Emails say what a person needs and nothing empty: the organiser invitation names who
//! invited, event emails leave out attributes nobody gave, and import problems name the
//! trial's own attribute.
use chrono::Utc;

use crate::builders::{PersonBuilder, TrialBuilder};
use crate::helpers::{spawn_app, ORGANISER_EMAIL};

#[tokio::test]
async fn the_invitation_says_who_invited() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let page = "/admin/organisers/invite";
    let response = app
        .submit(page, page, &[("email", "new.organiser@example.org")])
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    let email = app
        .store
        .list_outbox(10)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.to_address == "new.organiser@example.org")
        .expect("the invitation is queued");
    assert!(email.subject.contains(ORGANISER_EMAIL), "{}", email.subject);
    assert!(
        email
            .body_text
            .contains(&format!("{ORGANISER_EMAIL} has invited you")),
        "{}",
        email.body_text
    );

    // From the command line there is no organiser: the site's operator invites.
    let base = url::Url::parse(&app.address).unwrap();
    coffee_trials::app::accounts::invite_organiser(&app.store, &base, "cli@example.org", false)
        .await
        .unwrap();
    let email = app
        .store
        .list_outbox(10)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.to_address == "cli@example.org")
        .unwrap();
    assert!(email
        .body_text
        .contains("The people who run coffee trials at 127.0.0.1"));
}

#[tokio::test]
async fn event_emails_leave_out_attributes_nobody_gave() {
    let app = spawn_app().await;
    let trial = TrialBuilder::new("open-day")
        .kind("event")
        .with(|t| {
            t.event_date = "2026-12-07".into();
            t.attribute_name = "Department".into();
        })
        .create(&app.store)
        .await;
    // Nobody gave a department but Dana.
    for (name, dept) in [
        ("Ada", ""),
        ("Bilal", ""),
        ("Chen", ""),
        ("Dana", "Pharmacy"),
    ] {
        let p = PersonBuilder::new(name, &format!("{}@example.org", name.to_lowercase()))
            .attribute(dept)
            .add_to(&app.store, &trial)
            .await;
        app.store
            .check_in(trial.id, &p.public_id, Utc::now())
            .await
            .unwrap();
    }
    let base = url::Url::parse(&app.address).unwrap();
    let run =
        coffee_trials::app::events::run_quick_round(&app.store, &trial, 7, Some(&base), Utc::now())
            .await
            .unwrap();
    assert_eq!(run.emails_queued, 4);
    coffee_trials::app::events::send_summaries(&app.store, &trial, &base, Utc::now())
        .await
        .unwrap();
    let emails = app.store.list_outbox(50).await.unwrap();
    let mut dana_named = 0;
    for e in emails
        .iter()
        .filter(|e| e.template == "pairing" || e.template == "event_summary")
    {
        for body in [&e.body_text, &e.body_html] {
            assert!(!body.contains("not given"), "{body}");
        }
        // Dana's partner is told her department; nobody else's line is there at all.
        if e.body_text.contains("Department: Pharmacy") {
            dana_named += 1;
        }
        assert_eq!(
            e.body_text.matches("Department:").count(),
            e.body_text.matches("Department: Pharmacy").count(),
            "{}",
            e.body_text
        );
    }
    assert_eq!(dana_named, 2, "her partner's pairing email and summary");
}

#[test]
fn import_problems_name_the_trials_attribute() {
    let parsed = coffee_trials::app::import::parse(
        b"name,email,discipline\nAda,ada@example.org,Knitting\n",
        "Discipline",
        &["Maths", "Physics"],
    )
    .unwrap();
    let reason = &parsed.problems[0].reasons[0];
    assert!(reason.starts_with("Discipline: choose one of"), "{reason}");
    assert!(!reason.contains("group"));
}
