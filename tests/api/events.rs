//! Events through HTTP: sign-up from the poster's QR code straight to a phone page, check-in
//! by the organiser and by "I'm here", quick rounds (no repeats over a whole round-robin, late
//! arrivals, people who left), the display and phone pages, the poster, and the command line.
use std::collections::HashSet;

use chrono::{Duration, Utc};
use coffee_trials::domain::{TrialInput, TrialSettings};
use coffee_trials::store::rounds::GroupMember;
use coffee_trials::store::time::{from_db, to_db};
use coffee_trials::store::trials::Trial;
use coffee_trials::store::Store;

use crate::helpers::{csrf_from, spawn_app, TestApp, TestDatabase};

async fn event_trial(app: &TestApp, slug: &str) -> Trial {
    let input = TrialInput {
        name: "Induction day".into(),
        slug: slug.into(),
        kind: "event".into(),
        event_date: "2026-12-07".into(),
        event_place: "Seminar room 2".into(),
        event_planned_rounds: "4".into(),
        event_round_minutes: "7".into(),
        ..Default::default()
    };
    app.store
        .create_trial(&TrialSettings::try_from(&input).unwrap(), Utc::now())
        .await
        .unwrap()
}

/// Signs a person up on the trial's page and returns the token of their event page.
async fn sign_up(app: &TestApp, slug: &str, name: &str) -> String {
    let email = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
    let page = format!("/t/{slug}");
    let response = app
        .submit(
            &page,
            &page,
            &[
                ("name", name),
                ("email", email.as_str()),
                ("attribute_value", "Nursing"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(
        response.status().as_u16(),
        303,
        "an event sign-up goes to the phone page"
    );
    let location = response.headers()["location"].to_str().unwrap().to_string();
    location
        .strip_prefix("/e/")
        .expect("the phone page's address")
        .to_string()
}

async fn public_id(app: &TestApp, trial: &Trial, name: &str) -> String {
    app.store
        .event_people(trial.id, Some(name))
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == name)
        .expect("the person is in the event")
        .public_id
}

async fn tick(app: &TestApp, trial: &Trial, name: &str) {
    let id = public_id(app, trial, name).await;
    let page = format!("/admin/trials/{}/event", trial.slug);
    let response = app
        .submit(
            &page,
            &format!("/admin/trials/{}/event/people/{id}/check-in", trial.slug),
            &[("q", "")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
}

async fn mark_left(app: &TestApp, trial: &Trial, name: &str) {
    let id = public_id(app, trial, name).await;
    let page = format!("/admin/trials/{}/event", trial.slug);
    let response = app
        .submit(
            &page,
            &format!("/admin/trials/{}/event/people/{id}/left", trial.slug),
            &[],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
}

async fn im_here(app: &TestApp, token: &str) {
    let page = format!("/e/{token}");
    let response = app.submit(&page, &format!("/e/{token}/here"), &[]).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], page.as_str());
}

/// Runs a quick round from the check-in page and returns its number.
async fn run_round(app: &TestApp, trial: &Trial) -> i64 {
    let page = format!("/admin/trials/{}/event", trial.slug);
    let response = app
        .submit(
            &page,
            &format!("/admin/trials/{}/event/rounds", trial.slug),
            &[],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap();
    location
        .rsplit("started=")
        .next()
        .unwrap()
        .parse()
        .expect("the round's number")
}

/// A round's groups as the store has them: (table, member names).
async fn groups(store: &Store, trial: &Trial, number: i64) -> Vec<(Option<String>, Vec<String>)> {
    let round = store
        .find_round_by_number(trial.id, number)
        .await
        .unwrap()
        .expect("the round exists");
    assert_eq!(round.kind, "quick");
    assert_eq!(round.state, "published");
    let members: Vec<GroupMember> = store.round_members(round.id).await.unwrap();
    let mut out: Vec<(i64, Option<String>, Vec<String>)> = Vec::new();
    for m in members {
        match out.last_mut() {
            Some((id, _, names)) if *id == m.group_id => names.push(m.name),
            _ => out.push((m.group_id, m.table_label, vec![m.name])),
        }
    }
    out.into_iter().map(|(_, t, n)| (t, n)).collect()
}

fn names_in(groups: &[(Option<String>, Vec<String>)]) -> HashSet<String> {
    groups.iter().flat_map(|(_, n)| n.iter().cloned()).collect()
}

#[tokio::test]
async fn events_twelve_people_meet_everyone_once_in_eleven_quick_rounds() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event_trial(&app, "induction").await;
    let people: Vec<String> = (1..=12).map(|i| format!("Person {i:02}")).collect();
    for name in &people {
        sign_up(&app, "induction", name).await;
        tick(&app, &trial, name).await;
    }
    let mut met: HashSet<(String, String)> = HashSet::new();
    for expected in 1..=11 {
        let number = run_round(&app, &trial).await;
        assert_eq!(number, expected);
        let groups = groups(&app.store, &trial, number).await;
        assert_eq!(groups.len(), 6, "round {number}");
        let tables: Vec<String> = groups.iter().map(|(t, _)| t.clone().unwrap()).collect();
        let wanted: Vec<String> = (1..=6).map(|i| format!("Table {i}")).collect();
        assert_eq!(tables, wanted, "round {number}");
        assert_eq!(
            names_in(&groups).len(),
            12,
            "everyone is placed in round {number}"
        );
        for (_, names) in &groups {
            assert_eq!(names.len(), 2);
            let mut pair = names.clone();
            pair.sort();
            assert!(
                met.insert((pair[0].clone(), pair[1].clone())),
                "{} and {} met twice (round {number})",
                pair[0],
                pair[1]
            );
        }
    }
    assert_eq!(met.len(), 66, "all 66 pairs of 12 people met once");
    // No pairing emails: the outbox holds only the sign-up confirmations.
    let outbox = app.store.list_outbox(100).await.unwrap();
    assert_eq!(outbox.len(), 12);
    assert!(outbox.iter().all(|e| e.template != "pairing"), "{outbox:?}");
}

#[tokio::test]
async fn events_check_in_late_arrivals_and_leaving_through_http() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event_trial(&app, "study-day").await;
    let ada = sign_up(&app, "study-day", "Ada Lovelace").await;
    sign_up(&app, "study-day", "Alan Turing").await;
    let grace = sign_up(&app, "study-day", "Grace Hopper").await;
    let late = sign_up(&app, "study-day", "Late Larry").await;
    sign_up(&app, "study-day", "Never Came").await;

    // Nobody is here yet: the round is refused with a message at the button.
    let page = "/admin/trials/study-day/event";
    let refused = app
        .submit(page, "/admin/trials/study-day/event/rounds", &[])
        .await;
    assert_eq!(refused.status().as_u16(), 422);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("check in at least two people"));

    tick(&app, &trial, "Alan Turing").await;
    im_here(&app, &ada).await;
    im_here(&app, &grace).await;
    let list = app.get(page).await.text().await.unwrap();
    assert!(list.contains("<strong>3</strong> here"), "{list}");
    // Ticking twice changes nothing.
    tick(&app, &trial, "Alan Turing").await;

    let first = run_round(&app, &trial).await;
    let round_one = groups(&app.store, &trial, first).await;
    let expected: HashSet<String> = ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(
        names_in(&round_one),
        expected,
        "only the people who are here"
    );
    assert_eq!(round_one.len(), 1, "three people make one group of three");

    // A late arrival checks in on their phone and is in the next round, not the one before.
    im_here(&app, &late).await;
    let second = run_round(&app, &trial).await;
    let round_two = groups(&app.store, &trial, second).await;
    assert!(names_in(&round_two).contains("Late Larry"));
    assert!(!names_in(&round_one).contains("Late Larry"));
    assert_eq!(names_in(&round_two).len(), 4);

    // Someone who leaves is never paired again, and cannot check themselves back in.
    mark_left(&app, &trial, "Grace Hopper").await;
    let phone = app.get(&format!("/e/{grace}")).await.text().await.unwrap();
    assert!(phone.contains("marked as having left") && !phone.contains("I'm here</button>"));
    let again = app.submit(page, &format!("/e/{grace}/here"), &[]).await;
    assert_eq!(again.status().as_u16(), 303);
    for _ in 0..2 {
        let number = run_round(&app, &trial).await;
        let names = names_in(&groups(&app.store, &trial, number).await);
        assert!(!names.contains("Grace Hopper"), "round {number}: {names:?}");
        assert!(!names.contains("Never Came"));
        assert_eq!(names.len(), 3);
    }
    let list = app.get(page).await.text().await.unwrap();
    assert!(
        list.contains("<strong>3</strong> here · 1 left · 5 signed up"),
        "{list}"
    );

    // Search by name narrows the list.
    let found = app
        .get(&format!("{page}?q=lar"))
        .await
        .text()
        .await
        .unwrap();
    assert!(found.contains("Late Larry") && !found.contains("Ada Lovelace"));
}

#[tokio::test]
async fn events_display_and_phone_pages_show_partners_and_tables() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event_trial(&app, "conference").await;
    let mut tokens = Vec::new();
    for name in [
        "Ada Lovelace",
        "Alan Turing",
        "Grace Hopper",
        "Edsger Dijkstra",
    ] {
        tokens.push((name, sign_up(&app, "conference", name).await));
    }

    // Before checking in, the phone page offers "I'm here" and keeps itself current.
    let phone = app
        .get(&format!("/e/{}", tokens[0].1))
        .await
        .text()
        .await
        .unwrap();
    assert!(phone.contains("Hello, Ada Lovelace"));
    assert!(phone.contains("I'm here") && phone.contains("http-equiv=\"refresh\""));
    let display = app.get("/admin/trials/conference/display").await;
    assert_eq!(display.status().as_u16(), 200);
    assert!(display
        .text()
        .await
        .unwrap()
        .contains("The first round starts soon"));

    for (_, token) in &tokens {
        im_here(&app, token).await;
    }
    let number = run_round(&app, &trial).await;
    let groups = groups(&app.store, &trial, number).await;
    assert_eq!(groups.len(), 2);

    let display = app
        .get("/admin/trials/conference/display")
        .await
        .text()
        .await
        .unwrap();
    assert!(display.contains("http-equiv=\"refresh\""));
    // The countdown runs to the round's start plus the event's 7 minutes.
    let round = app
        .store
        .find_round_by_number(trial.id, number)
        .await
        .unwrap()
        .unwrap();
    let started = from_db(round.published_at.as_deref().unwrap()).unwrap();
    let ends = to_db(started + Duration::minutes(7));
    assert!(
        display.contains(&format!("id=\"countdown\" data-ends=\"{ends}\"")),
        "{display}"
    );
    for (table, names) in &groups {
        let shown = format!(
            "<span class=\"table\">{}</span>\n<span class=\"names\">{} &amp; {}</span>",
            table.as_deref().unwrap(),
            names[0],
            names[1]
        );
        assert!(display.contains(&shown), "{shown} in {display}");
    }

    for (name, token) in &tokens {
        let (table, names) = groups
            .iter()
            .find(|(_, n)| n.iter().any(|m| m == name))
            .unwrap();
        let partner = names.iter().find(|m| m != name).unwrap();
        let phone = app.get(&format!("/e/{token}")).await.text().await.unwrap();
        assert!(phone.contains("You are checked in"));
        assert!(
            phone.contains(&format!(
                "<p class=\"table\">{}</p>",
                table.as_deref().unwrap()
            )),
            "{phone}"
        );
        assert!(phone.contains(&format!("<p class=\"partner\">{partner}</p>")));
    }

    // A link that never existed shows a page that says so.
    let gone = app.get(&format!("/e/{}", "0".repeat(64))).await;
    assert_eq!(gone.status().as_u16(), 410);
}

/// Reads a QR code drawn as the poster draws it: one SVG path of rectangles
/// (`M{x} {y}h{w}v{h}H{x}V{y}`) on a `width` by `height` canvas.
fn read_qr(svg: &str) -> String {
    let attribute = |name: &str| -> usize {
        let start = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        svg[start..].split('"').next().unwrap().parse().unwrap()
    };
    let (width, height) = (attribute("width"), attribute("height"));
    let mut dark = vec![false; width * height];
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    for rect in path.split('M').filter(|r| !r.is_empty()) {
        let numbers: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        let (left, top, w, h) = (numbers[0], numbers[1], numbers[2], numbers[3]);
        for y in top..top + h {
            for x in left..left + w {
                dark[y * width + x] = true;
            }
        }
    }
    let mut image =
        rqrr::PreparedImage::prepare_from_bitmap(width, height, |x, y| dark[y * width + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("the QR code reads").1
}

#[tokio::test]
async fn events_poster_has_a_qr_code_and_the_address() {
    let app = spawn_app().await;
    event_trial(&app, "open-day").await;
    let visitor = app.anonymous_client();
    let response = visitor
        .get(app.url("/t/open-day/poster"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let html = response.text().await.unwrap();
    let svg_start = html.find("<svg ").expect("an inline SVG");
    let svg = &html[svg_start..html.find("</svg>").unwrap()];
    // The test app's BASE_URL is its bind address; the page shows the address it encodes.
    let marker = "<p class=\"address\"><a href=\"";
    let start = html.find(marker).expect("the address in text") + marker.len();
    let address = html[start..].split('"').next().unwrap();
    assert!(address.starts_with("http://127.0.0.1:") && address.ends_with("/t/open-day"));
    assert_eq!(read_qr(svg), address, "the code holds the sign-up address");
    assert!(
        !html.contains("<script"),
        "nothing external or scripted on the poster"
    );
    assert!(
        html.contains("/t/open-day\">"),
        "the sign-up address as a link"
    );
    assert!(html.contains("Induction day"));
    assert!(html.contains("2026-12-07") && html.contains("Seminar room 2"));
    // The sign-up page itself is still the trial's page, not shadowed by the poster.
    let signup = visitor.get(app.url("/t/open-day")).send().await.unwrap();
    assert!(signup.text().await.unwrap().contains("id=\"signup\""));
    let unknown = visitor.get(app.url("/t/nope/poster")).send().await.unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn events_sign_up_is_pairable_at_once_but_email_waits_for_confirmation() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event_trial(&app, "meetup").await;
    sign_up(&app, "meetup", "Ada Lovelace").await;
    sign_up(&app, "meetup", "Alan Turing").await;
    let people = app.store.event_people(trial.id, None).await.unwrap();
    assert!(people.iter().all(|p| p.state == "active"), "{people:?}");
    let confirmations = app.store.list_outbox(10).await.unwrap();
    assert_eq!(
        confirmations.len(),
        2,
        "the confirmation email still goes out"
    );

    // An ordinary round published for the event emails nobody who has not confirmed.
    let page = "/admin/trials/meetup/rounds";
    let started = app.submit(page, page, &[]).await;
    assert_eq!(started.status().as_u16(), 303);
    let published = app
        .submit(
            "/admin/trials/meetup/rounds/1",
            "/admin/trials/meetup/rounds/1/publish",
            &[],
        )
        .await;
    assert!(published.status().is_success() || published.status().is_redirection());
    let round = app
        .store
        .find_round_by_number(trial.id, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(round.state, "published");
    assert_eq!(app.store.round_members(round.id).await.unwrap().len(), 2);
    assert_eq!(
        app.store.list_outbox(10).await.unwrap().len(),
        2,
        "no pairing emails"
    );

    // Signing up again with a known address reveals nothing and gives no phone page.
    let again = app
        .submit(
            "/t/meetup",
            "/t/meetup",
            &[
                ("name", "Someone Else"),
                ("email", "ada.lovelace@example.org"),
                ("attribute_value", "Nursing"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(again.status().as_u16(), 200);
}

#[tokio::test]
async fn events_console_pages_refuse_anonymous_users_and_programmes() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    event_trial(&app, "gala").await;
    let visitor = app.anonymous_client();
    for path in ["/admin/trials/gala/event", "/admin/trials/gala/display"] {
        let response = visitor.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 303, "{path}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.starts_with("/admin/login"), "{path} -> {location}");
    }
    let input = TrialInput {
        name: "Weekly coffee".into(),
        slug: "weekly".into(),
        ..Default::default()
    };
    app.store
        .create_trial(&TrialSettings::try_from(&input).unwrap(), Utc::now())
        .await
        .unwrap();
    let programme = app.get("/admin/trials/weekly/event").await;
    assert_eq!(programme.status().as_u16(), 409);
    let html = app
        .get("/admin/trials/gala/event")
        .await
        .text()
        .await
        .unwrap();
    assert!(csrf_from(&html).len() == 64 && html.contains("Run a quick round now"));
}

#[tokio::test]
async fn events_trial_create_takes_the_event_details_on_the_command_line() {
    let db = TestDatabase::create().await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_coffee-trials"))
            .args(args)
            .env("DATABASE_URL", db.url())
            .env("BASE_URL", "https://coffee.example.org/")
            .output()
            .expect("the binary runs")
    };
    let out = run(&[
        "trial",
        "create",
        "--name",
        "Study day",
        "--slug",
        "study",
        "--event",
        "--date",
        "2026-12-07",
        "--place",
        "Room 2",
        "--rounds",
        "5",
        "--minutes",
        "8",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("https://coffee.example.org/t/study/poster"),
        "{stdout}"
    );
    let bad = run(&[
        "trial",
        "create",
        "--name",
        "Bad",
        "--slug",
        "bad",
        "--event",
        "--minutes",
        "0",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--minutes"));

    let url = coffee_trials::config::DatabaseUrl::parse(&db.url()).unwrap();
    let store = Store::connect(&url).await.unwrap();
    let trial = store.find_trial("study").await.unwrap().unwrap();
    assert!(trial.is_event());
    assert_eq!(trial.event_date.as_deref(), Some("2026-12-07"));
    assert_eq!(trial.event_place.as_deref(), Some("Room 2"));
    assert_eq!(trial.event_planned_rounds, Some(5));
    assert_eq!(trial.event_round_minutes, Some(8));
    assert!(store.find_trial("bad").await.unwrap().is_none());
    store.close().await;
}
