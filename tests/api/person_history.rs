//! A person's page in the console (pairings, feedback answers, email problems), the
//! participants list filtered by that history, and dates as people read them.

use chrono::{DateTime, Utc};
use coffee_trials::domain::MembershipState;
use coffee_trials::store::history::HistoryFilter;
use coffee_trials::store::outbox::{enqueue, NewEmail};
use coffee_trials::store::participants::{add_member, MemberQuery};
use coffee_trials::store::rounds::NewGroup;
use coffee_trials::store::Store;
use coffee_trials::web::dates::when;

use crate::builders::{AddedPerson, PersonBuilder, RoundBuilder, TrialBuilder};
use crate::helpers::{spawn_app_with, TestApp};
use crate::smtp_sink::SmtpSink;

const ZONE: chrono_tz::Tz = chrono_tz::America::New_York;

/// Every "2026-11-29T16:38"-like text on a page: a timestamp shown raw.
pub fn raw_timestamps(html: &str) -> Vec<String> {
    let b = html.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b[i].is_ascii_digit());
    (0..b.len().saturating_sub(16))
        .filter(|&i| {
            digits(i..i + 4)
                && b[i + 4] == b'-'
                && digits(i + 5..i + 7)
                && b[i + 7] == b'-'
                && digits(i + 8..i + 10)
                && b[i + 10] == b'T'
                && digits(i + 11..i + 13)
                && b[i + 13] == b':'
        })
        .map(|i| html[i..i + 16].to_string())
        .collect()
}

fn email_to(person: &Person, subject: &str) -> NewEmail {
    NewEmail {
        template: "test",
        to_address: person.email.clone(),
        participant_id: Some(person.participant_id),
        round_id: None,
        subject: subject.into(),
        body_text: "Hello\n".into(),
        body_html: "<p>Hello</p>".into(),
        headers_json: "{}".into(),
        attachments_json: "[]".into(),
    }
}

async fn queue(store: &Store, emails: &[NewEmail]) {
    let mut tx = store.pool().begin().await.unwrap();
    for e in emails {
        enqueue(&mut tx, e, "test.example", Utc::now())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

struct Person {
    added: AddedPerson,
    participant_id: i64,
    email: String,
}

async fn add(
    app: &TestApp,
    trial: &coffee_trials::store::trials::Trial,
    p: PersonBuilder,
    email: &str,
) -> Person {
    let added = p.add_to(&app.store, trial).await;
    let member = app
        .store
        .find_member_by_id(added.membership_id)
        .await
        .unwrap()
        .unwrap();
    Person {
        added,
        participant_id: member.participant_id,
        email: email.into(),
    }
}

/// "12 matching" on the list page.
fn matching(html: &str) -> i64 {
    let end = html
        .find(" matching")
        .expect("the list says how many match");
    let start = html[..end].rfind('>').unwrap() + 1;
    html[start..end].trim().parse().unwrap()
}

#[tokio::test]
async fn a_persons_page_shows_pairings_feedback_and_email_problems_and_the_list_filters_by_them() {
    let sink = SmtpSink::start().await;
    let port = sink.port;
    let url = sink.url();
    let app = spawn_app_with(move |s| {
        s.smtp_url = Some(url.parse().unwrap());
        s.background_loops = false;
    })
    .await;
    app.sign_up_first_organiser().await;
    let trial = TrialBuilder::new("history")
        .name("History trial")
        .with(|t| t.time_zone = "America/New_York".into())
        .create(&app.store)
        .await;
    let ada = PersonBuilder::new("Ada Lovelace", "ada@example.org")
        .modes(&["in_person", "video"])
        .site("Leeds");
    let ada = add(&app, &trial, ada, "ada@example.org").await;
    let bo = PersonBuilder::new("Bo Brunel", "bo@example.org")
        .modes(&["in_person"])
        .site("Leeds");
    let bo = add(&app, &trial, bo, "bo@example.org").await;
    let cy = PersonBuilder::new("Cy Curie", "cy@example.org").modes(&["video"]);
    let cy = add(&app, &trial, cy, "cy@example.org").await;
    let dee = PersonBuilder::new("Dee Darwin", "dee@example.org");
    let dee = add(&app, &trial, dee, "dee@example.org").await;

    let one = RoundBuilder::new()
        .group(&[ada.added.membership_id, bo.added.membership_id])
        .published()
        .create(&app.store, &trial)
        .await;
    RoundBuilder::new()
        .group(&[ada.added.membership_id, cy.added.membership_id])
        .published()
        .create(&app.store, &trial)
        .await;
    // A draft pairs nobody yet.
    RoundBuilder::new()
        .group(&[dee.added.membership_id, bo.added.membership_id])
        .create(&app.store, &trial)
        .await;
    let published_one = app
        .store
        .find_round(one.id)
        .await
        .unwrap()
        .unwrap()
        .published_at
        .unwrap();

    let group_one = app.store.round_members(one.id).await.unwrap()[0].group_id;
    let now = Utc::now();
    for (who, takeaway, share) in [
        (&ada, "Learnt how the archive works", true),
        (&bo, "a private note", false),
    ] {
        app.store
            .upsert_feedback_answer(group_one, who.added.membership_id, "met", now)
            .await
            .unwrap();
        assert!(app
            .store
            .save_feedback_details(
                group_one,
                who.added.membership_id,
                Some(4),
                takeaway,
                share,
                now
            )
            .await
            .unwrap());
    }

    // Real SMTP: the server refuses Ada and Cy; later it takes Ada's mail again.
    sink.refuse("ada@example.org");
    sink.refuse("cy@example.org");
    queue(
        &app.store,
        &[
            email_to(&ada, "Your first partner"),
            email_to(&cy, "Your second partner"),
        ],
    )
    .await;
    assert_eq!(app.deliver_outbox().await.len(), 2);
    drop(sink);
    // The stopped server lets go of its port once the runtime has run its cancellation.
    for _ in 0..1000 {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let sink = SmtpSink::start_on(port).await;
    queue(&app.store, &[email_to(&ada, "Your next partner")]).await;
    assert_eq!(app.deliver_outbox().await.len(), 1);
    assert_eq!(sink.count(), 1);

    // Ada: two groups, newest first, with how they can meet and the partners linked.
    let page = |p: &Person| format!("/admin/trials/history/participants/{}", p.added.public_id);
    let response = app.get(&page(&ada)).await;
    assert_eq!(response.status().as_u16(), 200);
    let html = response.text().await.unwrap();
    let pairings = &html[html.find("id=\"pairings\"").expect("a pairings table")..];
    let round_two = pairings.find("Round 2").unwrap();
    let round_one = pairings.find("Round 1").unwrap();
    assert!(round_two < round_one, "newest round first: {pairings}");
    assert!(pairings.contains(&format!(
        "<a href=\"/admin/trials/history/participants/{}\">Bo Brunel</a>",
        bo.added.public_id
    )));
    assert!(pairings.contains("Cy Curie"));
    assert!(
        pairings.contains("in person (both on site at Leeds)"),
        "{pairings}"
    );
    assert!(pairings.contains("<td>video</td>"), "{pairings}");
    assert!(pairings.contains("<td>met</td>") && pairings.contains("no answer yet"));
    assert!(
        pairings.contains(&when(&published_one, ZONE)),
        "published, in the trial's zone: {pairings}"
    );
    assert!(
        when(&published_one, ZONE).ends_with("EST") || when(&published_one, ZONE).ends_with("EDT")
    );
    // Her answer, with the takeaway she agreed to share.
    let answers = &html[html.find("id=\"answers\"").expect("an answers table")..];
    assert!(answers.contains("We met") && answers.contains("<td>4</td>"));
    assert!(answers.contains("Learnt how the archive works"));
    // Her refused email, and that mail has reached her since.
    let problems = &html[html.find("id=\"email-problems\"").expect("email problems")..];
    assert!(problems.contains("Your first partner") && problems.contains("550"));
    assert!(problems.contains("A later email to them has gone through"));
    assert!(!problems.contains("Your next partner"));
    assert!(
        raw_timestamps(&html).is_empty(),
        "{:?}",
        raw_timestamps(&html)
    );

    // Bo's takeaway was not for sharing; Cy's mail still fails; Dee has no history at all.
    let html = app.get_html(&page(&bo)).await;
    assert!(html.contains("(kept private)") && !html.contains("a private note"));
    let html = app.get_html(&page(&cy)).await;
    assert!(html.contains("id=\"needs-attention\""));
    let problems = &html[html.find("id=\"email-problems\"").unwrap()..];
    assert!(
        problems.contains("Your second partner") && problems.contains("Failed after 1 attempt:")
    );
    assert!(!problems.contains("has gone through"));
    assert!(html.contains("id=\"no-feedback\""));
    let html = app.get_html(&page(&dee)).await;
    for empty in [
        "id=\"never-paired\"",
        "id=\"no-feedback\"",
        "id=\"no-email-problems\"",
    ] {
        assert!(html.contains(empty), "{empty} in {html}");
    }

    assert_history_counts_are_true(&app.store).await;

    // The list, filtered by each kind of history.
    for (filter, names) in [
        ("never-paired", vec!["Dee Darwin"]),
        ("paired", vec!["Ada Lovelace", "Bo Brunel", "Cy Curie"]),
        ("gave-feedback", vec!["Ada Lovelace", "Bo Brunel"]),
        ("no-feedback", vec!["Cy Curie"]),
        ("email-problems", vec!["Cy Curie"]),
    ] {
        let html = app
            .get_html(&format!(
                "/admin/trials/history/participants?history={filter}"
            ))
            .await;
        assert_eq!(matching(&html), names.len() as i64, "{filter}: {html}");
        let table = html.find("id=\"participants\"").map_or("", |i| &html[i..]);
        for name in ["Ada Lovelace", "Bo Brunel", "Cy Curie", "Dee Darwin"] {
            assert_eq!(
                table.contains(name),
                names.contains(&name),
                "{filter}, {name}"
            );
        }
        assert!(
            html.contains(&format!("<option value=\"{filter}\" selected>")),
            "the filter stays chosen: {html}"
        );
        // The CSV export and the pages keep the filter.
        let unescaped = html.replace("&#38;", "&").replace("&amp;", "&");
        assert!(
            unescaped.contains(&format!("participants.csv?search=&state=&history={filter}")),
            "{html}"
        );
    }
    // Filters combine with the state and the search.
    let html = app
        .get_html("/admin/trials/history/participants?history=paired&search=bo")
        .await;
    assert_eq!(matching(&html), 1);

    // The organisers' API takes the same filter, and names an unknown one.
    let token = app.api_token().await;
    let api = |query: &str| {
        app.client
            .get(app.url(&format!("/api/v1/trials/history/participants?{query}")))
            .bearer_auth(&token)
            .send()
    };
    let body: serde_json::Value = api("history=email-problems")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 1);
    assert_eq!(body["participants"][0]["name"], "Cy Curie");
    let response = api("history=lonely").await.unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["field"], "history");
}

#[tokio::test]
async fn a_filtered_list_is_paged() {
    let app = spawn_app_with(|s| s.background_loops = false).await;
    app.sign_up_first_organiser().await;
    let trial = TrialBuilder::new("paged").create(&app.store).await;
    let mut tx = app.store.pool().begin().await.unwrap();
    for n in 0..60 {
        let d = PersonBuilder::new(&format!("Person {n:02}"), &format!("p{n}@example.org"))
            .details(&trial);
        add_member(
            &mut tx,
            trial.id,
            &d,
            MembershipState::Active,
            None,
            Utc::now(),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let paired = PersonBuilder::new("Zed Paired", "zed@example.org")
        .add_to(&app.store, &trial)
        .await;
    let other = PersonBuilder::new("Yan Paired", "yan@example.org")
        .add_to(&app.store, &trial)
        .await;
    RoundBuilder::new()
        .group(&[paired.membership_id, other.membership_id])
        .published()
        .create(&app.store, &trial)
        .await;

    let html = app
        .get_html("/admin/trials/paged/participants?history=never-paired")
        .await;
    assert!(html.contains("60 matching, page 1 of 2"), "{html}");
    assert!(html.contains("history=never-paired&amp;page=2"), "{html}");
    let html = app
        .get_html("/admin/trials/paged/participants?history=never-paired&page=2")
        .await;
    assert!(html.contains("page 2 of 2"));
    assert_eq!(
        html.matches("/admin/trials/paged/participants/").count(),
        10
    );
    assert!(!html.contains("Zed Paired") && !html.contains("Yan Paired"));
}

#[tokio::test]
async fn console_pages_show_dates_as_people_read_them_in_the_trials_zone() {
    let app = spawn_app_with(|s| s.background_loops = false).await;
    app.sign_up_first_organiser().await;
    let _token = app.api_token().await;
    let trial = TrialBuilder::new("dates")
        .with(|t| t.time_zone = "America/New_York".into())
        .create(&app.store)
        .await;
    let a = PersonBuilder::new("Ann", "ann@example.org")
        .add_to(&app.store, &trial)
        .await;
    let b = PersonBuilder::new("Ben", "ben@example.org")
        .add_to(&app.store, &trial)
        .await;
    let round = RoundBuilder::new()
        .group(&[a.membership_id, b.membership_id])
        .published()
        .create(&app.store, &trial)
        .await;
    let round = app.store.find_round(round.id).await.unwrap().unwrap();
    let published: DateTime<Utc> = round.published_at.unwrap();
    let expected = when(&published, ZONE);

    let person = format!("/admin/trials/dates/participants/{}", a.public_id);
    for path in [
        "/admin/trials/dates/rounds",
        "/admin/trials/dates/rounds/1",
        "/admin/trials/dates/participants",
        person.as_str(),
        "/admin/outbox",
        "/admin/organisers",
        "/admin/tokens",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(
            raw_timestamps(&html).is_empty(),
            "{path}: {:?}",
            raw_timestamps(&html)
        );
        if path.contains("/rounds") || path == person {
            assert!(html.contains(&expected), "{path} shows {expected}: {html}");
        }
    }
    // Pages of no trial say that their times are UTC.
    let html = app.get_html("/admin/tokens").await;
    assert!(html.contains(" UTC</td>"), "{html}");
}

#[tokio::test]
async fn the_time_zone_field_suggests_the_iana_names_and_refuses_others() {
    let app = spawn_app_with(|s| s.background_loops = false).await;
    app.sign_up_first_organiser().await;
    let html = app.get_html("/admin/trials/new").await;
    assert!(html.contains("list=\"time-zones\""));
    let datalist = &html[html
        .find("<datalist id=\"time-zones\">")
        .expect("a datalist")..];
    let datalist = &datalist[..datalist.find("</datalist>").unwrap()];
    for zone in ["Europe/London", "America/New_York", "Asia/Kolkata", "UTC"] {
        assert!(
            datalist.contains(&format!("<option value=\"{zone}\">")),
            "{zone}"
        );
    }
    assert!(datalist.matches("<option").count() > 300);

    let response = app
        .submit(
            "/admin/trials/new",
            "/admin/trials",
            &[
                ("name", "Zoned"),
                ("slug", "zoned"),
                ("kind", "programme"),
                ("time_zone", "Europe/Atlantis"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"time_zone-error\""), "{html}");
    assert!(html.contains("is not a time zone we know"));
    assert!(
        html.contains("value=\"Europe/Atlantis\""),
        "the typed zone is kept"
    );
    assert!(
        html.contains("value=\"Zoned\""),
        "so is the rest of the form"
    );

    let response = app
        .submit(
            "/admin/trials/new",
            "/admin/trials",
            &[
                ("name", "Zoned"),
                ("slug", "zoned"),
                ("kind", "programme"),
                ("time_zone", "Asia/Kolkata"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let html = app.get_html("/admin/trials/zoned").await;
    assert!(html.contains("value=\"Asia/Kolkata\""));
}

/// Checks the history counts every membership carries (kept by triggers, migration 0080)
/// against the placements and answers they count, read afresh.
pub async fn assert_history_counts_are_true(store: &Store) {
    let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT m.id, m.paired_rounds, \
           (SELECT COUNT(*) FROM round_group_members hm \
            JOIN round_groups hg ON hg.id = hm.group_id JOIN rounds hr ON hr.id = hg.round_id \
            WHERE hm.membership_id = m.id AND hr.state = 'published'), \
           m.answers_given, \
           (SELECT COUNT(*) FROM feedback hf WHERE hf.membership_id = m.id) \
         FROM memberships m ORDER BY m.id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert!(!rows.is_empty());
    for (id, paired, placements, answers, feedback) in rows {
        assert_eq!(paired, placements, "published rounds of membership {id}");
        assert_eq!(answers, feedback, "answers of membership {id}");
    }
}

#[tokio::test]
async fn history_counts_follow_drafts_publishing_and_answers() {
    let app = spawn_app_with(|s| s.background_loops = false).await;
    let trial = TrialBuilder::new("counts").create(&app.store).await;
    let mut people = Vec::new();
    for (name, email) in [
        ("Ada Lovelace", "ada@example.org"),
        ("Bo Brunel", "bo@example.org"),
        ("Cy Curie", "cy@example.org"),
        ("Dee Darwin", "dee@example.org"),
    ] {
        people.push(
            PersonBuilder::new(name, email)
                .add_to(&app.store, &trial)
                .await,
        );
    }
    let [ada, bo, cy, dee] = [0, 1, 2, 3].map(|i| people[i].membership_id);
    let counts = |id: i64| {
        let store = app.store.clone();
        async move {
            let row: (i64, i64) = sqlx::query_as(
                "SELECT paired_rounds, answers_given FROM memberships WHERE id = $1",
            )
            .bind(id)
            .fetch_one(store.pool())
            .await
            .unwrap();
            row
        }
    };

    // A draft pairs nobody, drawn again or discarded.
    let draft = RoundBuilder::new()
        .group(&[ada, bo])
        .group(&[cy, dee])
        .create(&app.store, &trial)
        .await;
    let redrawn = [vec![ada, cy], vec![bo, dee]].map(|membership_ids| NewGroup {
        membership_ids,
        reason: "drawn again".into(),
        table_label: None,
    });
    assert!(app
        .store
        .replace_draft_groups(draft.id, 2, &redrawn)
        .await
        .unwrap());
    assert_eq!(counts(ada).await, (0, 0));
    assert_history_counts_are_true(&app.store).await;
    assert!(app
        .store
        .delete_draft_round(draft.id, Utc::now())
        .await
        .unwrap());
    assert_history_counts_are_true(&app.store).await;

    // Publishing counts everyone placed; Dee sits this one out.
    let one = RoundBuilder::new()
        .group(&[ada, bo, cy])
        .published()
        .create(&app.store, &trial)
        .await;
    assert_eq!(counts(ada).await, (1, 0));
    assert_eq!(counts(dee).await, (0, 0));
    RoundBuilder::new()
        .group(&[ada, dee])
        .published()
        .create(&app.store, &trial)
        .await;
    assert_eq!(counts(ada).await, (2, 0));

    // An answer counts once, however often it is changed.
    let group = app.store.round_members(one.id).await.unwrap()[0].group_id;
    for outcome in ["met", "not_yet", "met"] {
        app.store
            .upsert_feedback_answer(group, bo, outcome, Utc::now())
            .await
            .unwrap();
    }
    assert_eq!(counts(bo).await, (1, 1));
    assert_eq!(counts(ada).await, (2, 0));
    assert_history_counts_are_true(&app.store).await;

    // The list's filters read the counts.
    let query = |history| MemberQuery {
        history: Some(history),
        ..Default::default()
    };
    let names = |filter| {
        let store = app.store.clone();
        let trial_id = trial.id;
        async move {
            let mut names: Vec<String> = store
                .list_members(trial_id, &query(filter))
                .await
                .unwrap()
                .into_iter()
                .map(|m| m.name)
                .collect();
            names.sort();
            names
        }
    };
    assert!(names(HistoryFilter::NeverPaired).await.is_empty());
    assert_eq!(
        names(HistoryFilter::GaveFeedback).await,
        ["Bo Brunel".to_string()]
    );
    assert_eq!(
        names(HistoryFilter::PairedNoFeedback).await,
        ["Ada Lovelace", "Cy Curie", "Dee Darwin"]
    );
}
