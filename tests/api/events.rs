//! Events through HTTP: sign-up from the poster's QR code straight to a phone page, check-in
//! by the organiser and by "I'm here", quick rounds (no repeats over a whole round-robin, late
//! arrivals, people who left), the display and phone pages, the poster, and the command line.
use std::collections::HashSet;

use chrono::{Duration, Utc};
use coffee_trials::domain::{MembershipState, TrialInput, TrialSettings};
use coffee_trials::store::rounds::GroupMember;
use coffee_trials::store::time::to_db;
use coffee_trials::store::trials::Trial;
use coffee_trials::store::Store;

use crate::builders::TrialBuilder;
use crate::helpers::{csrf_from, spawn_app, TestApp, TestDatabase};

async fn event_trial(app: &TestApp, slug: &str) -> Trial {
    TrialBuilder::new(slug)
        .name("Induction day")
        .kind("event")
        .with(|t| {
            t.event_date = "2026-12-07".into();
            t.event_place = "Seminar room 2".into();
            t.event_planned_rounds = "4".into();
            t.event_round_minutes = "7".into();
        })
        .create(&app.store)
        .await
}

/// Signs a person up on the trial's page and returns the token of their event page.
async fn sign_up(app: &TestApp, slug: &str, name: &str) -> String {
    let email = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
    sign_up_as(app, slug, name, &email).await
}

async fn sign_up_as(app: &TestApp, slug: &str, name: &str, email: &str) -> String {
    let page = format!("/t/{slug}");
    let response = app
        .submit(
            &page,
            &page,
            &[
                ("name", name),
                ("email", email),
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
    // Back to the same check-in list, at the person's row.
    let location = response.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&page) && location.ends_with(&format!("#p-{id}")),
        "{location}"
    );
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
    assert_eq!(round.kind.as_str(), "quick");
    assert_eq!(round.state.as_str(), "published");
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
    let list = app.get_html(page).await;
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
    let phone = app.get_html(&format!("/e/{grace}")).await;
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
    let list = app.get_html(page).await;
    assert!(
        list.contains("<strong>3</strong> here · 1 left · 5 signed up"),
        "{list}"
    );

    // Search by name narrows the list.
    let found = app.get_html(&format!("{page}?q=lar")).await;
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

    // Before checking in, the phone page offers "I'm here". It keeps itself current with its
    // script, never by reloading itself, and has a refresh link for a browser without it.
    let phone = app.get_html(&format!("/e/{}", tokens[0].1)).await;
    assert!(phone.contains("Hello, Ada Lovelace"));
    assert!(phone.contains("I'm here") && !phone.contains("http-equiv=\"refresh\""));
    assert!(phone.contains(&format!("data-live-src=\"/e/{}/status\"", tokens[0].1)));
    assert!(phone.contains(&format!(
        "<a href=\"/e/{}\">Refresh this page</a>",
        tokens[0].1
    )));
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

    let display = app.get_html("/admin/trials/conference/display").await;
    assert!(!display.contains("http-equiv=\"refresh\""));
    assert!(display.contains("data-live-src=\"/admin/trials/conference/display/board\""));
    // The countdown runs to the round's start plus the event's 7 minutes.
    let round = app
        .store
        .find_round_by_number(trial.id, number)
        .await
        .unwrap()
        .unwrap();
    let started = round.published_at.unwrap();
    let ends = to_db(started + Duration::minutes(7));
    assert!(
        display.contains(&format!("id=\"countdown\" data-ends=\"{ends}\"")),
        "{display}"
    );
    for (table, names) in &groups {
        let shown = format!(
            "<span class=\"table\">{}</span>\n<span class=\"names\"><span class=\"name\">{}</span><span class=\"amp\"> &amp; </span><span class=\"name\">{}</span></span>",
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
        let phone = app.get_html(&format!("/e/{token}")).await;
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
    assert!(html.contains("Monday 7 December 2026") && html.contains("Seminar room 2"));
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
    assert!(
        people.iter().all(|p| p.state == MembershipState::Active),
        "{people:?}"
    );
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
            "/admin/trials/meetup/rounds/1/publish",
            "/admin/trials/meetup/rounds/1/publish",
            &[("confirm", "yes")],
        )
        .await;
    assert!(published.status().is_success() || published.status().is_redirection());
    let round = app
        .store
        .find_round_by_number(trial.id, 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(round.state.as_str(), "published");
    assert_eq!(app.store.round_members(round.id).await.unwrap().len(), 2);
    assert_eq!(
        app.store.list_outbox(10).await.unwrap().len(),
        2,
        "no pairing emails"
    );

    // Signing up again with a known address opens a phone page of its own (see
    // events_a_known_address_is_signed_up_as_typed_and_reveals_nothing).
    let again = sign_up_as(&app, "meetup", "Someone Else", "ada.lovelace@example.org").await;
    let phone = app.get_html(&format!("/e/{again}")).await;
    assert!(phone.contains("Hello, Someone Else"), "{phone}");
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
    let html = app.get_html("/admin/trials/gala/event").await;
    assert!(csrf_from(&html).len() == 64 && html.contains("Run a quick round now"));
    let title = &html[html.find("<title>").unwrap()..html.find("</title>").unwrap()];
    assert!(
        !title.contains("form") && !title.contains("csrf"),
        "the page title is text only: {title}"
    );
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

/// Follows the confirmation link emailed to the person with this name.
async fn confirm(app: &TestApp, name: &str) {
    let address = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
    let outbox = app.store.list_outbox(500).await.unwrap();
    let email = outbox
        .iter()
        .find(|e| e.template == "participant_confirm" && e.to_address == address)
        .expect("a confirmation email");
    let link = crate::participants::link_path(&email.body_text, "/c/");
    let response = app.submit(&link, &link, &[]).await;
    assert_eq!(response.status().as_u16(), 303, "confirmed");
}

fn address_of(name: &str) -> String {
    format!("{}@example.org", name.to_lowercase().replace(' ', "."))
}

/// Runs a quick round with the "also email the pairs" box ticked or not; returns the address
/// the console sends the organiser to.
async fn run_round_emailing(app: &TestApp, trial: &Trial, email_pairs: bool) -> String {
    let page = format!("/admin/trials/{}/event", trial.slug);
    let fields: &[(&str, &str)] = if email_pairs {
        &[("email_pairs", "yes")]
    } else {
        &[]
    };
    let response = app
        .submit(
            &page,
            &format!("/admin/trials/{}/event/rounds", trial.slug),
            fields,
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    response.headers()["location"].to_str().unwrap().to_string()
}

async fn emails_of(
    app: &TestApp,
    template: &str,
) -> Vec<coffee_trials::store::outbox::QueuedEmail> {
    let mut emails: Vec<_> = app
        .store
        .list_outbox(500)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.template == template)
        .collect();
    emails.sort_by(|a, b| a.to_address.cmp(&b.to_address));
    emails
}

#[tokio::test]
async fn events_also_email_the_pairs_sends_tables_to_confirmed_people_only() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event_trial(&app, "away-day").await;
    let confirmed = ["Ada Lovelace", "Alan Turing", "Grace Hopper"];
    for name in confirmed.iter().chain(["Hedy Lamarr"].iter()) {
        sign_up(&app, "away-day", name).await;
        tick(&app, &trial, name).await;
    }
    for name in confirmed {
        confirm(&app, name).await;
    }

    // Unticked: the round runs and nobody is emailed.
    let location = run_round_emailing(&app, &trial, false).await;
    assert_eq!(location, "/admin/trials/away-day/event?started=1");
    assert!(emails_of(&app, "pairing").await.is_empty());

    // Ticked: one email per confirmed person, each with their own table; none to Hedy.
    let location = run_round_emailing(&app, &trial, true).await;
    assert_eq!(location, "/admin/trials/away-day/event?started=2&emailed=3");
    let page = app.get_html(&location).await;
    assert!(page.contains("3 pairing emails are on their way"), "{page}");
    let emails = emails_of(&app, "pairing").await;
    let mut to: Vec<String> = emails.iter().map(|e| e.to_address.clone()).collect();
    to.sort();
    let mut wanted: Vec<String> = confirmed.iter().map(|n| address_of(n)).collect();
    wanted.sort();
    assert_eq!(to, wanted, "one each to the confirmed people, none to Hedy");
    let round_two = groups(&app.store, &trial, 2).await;
    for email in &emails {
        let (table, names) = round_two
            .iter()
            .find(|(_, names)| names.iter().any(|n| address_of(n) == email.to_address))
            .expect("the person is in round 2");
        let table = table.clone().expect("quick rounds have tables");
        assert!(
            email.body_text.contains(&format!("Where: {table}.")),
            "{}",
            email.body_text
        );
        assert!(email.body_html.contains(&table));
        assert!(
            email.subject.ends_with(&format!("at {table}")),
            "{}",
            email.subject
        );
        // Their partner is named; the other table is not theirs.
        let me = names
            .iter()
            .find(|n| address_of(n) == email.to_address)
            .unwrap();
        let partner = names.iter().find(|n| *n != me).unwrap();
        assert!(email.subject.contains(partner.as_str()));
        // A partner's address is shown once they have confirmed it, never before.
        assert_eq!(
            email.body_text.contains(&address_of(partner)),
            partner != "Hedy Lamarr",
            "{}",
            email.body_text
        );
        let other_table = round_two
            .iter()
            .find(|(t, _)| t.as_ref() != Some(&table))
            .unwrap();
        assert!(!email.body_text.contains(other_table.0.as_deref().unwrap()));
        // No calendar suggestion and no feedback link in the room: the summary asks later.
        assert!(!email.body_text.contains("calendar suggestion"));
        assert!(!email.body_text.contains("/f/"));
    }
}

#[tokio::test]
async fn events_summary_lists_who_each_person_met_and_goes_once() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event_trial(&app, "summit").await;
    let present = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Hedy Lamarr"];
    for name in present {
        sign_up(&app, "summit", name).await;
        tick(&app, &trial, name).await;
    }
    sign_up(&app, "summit", "Never Came").await;
    for name in ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Never Came"] {
        confirm(&app, name).await;
    }
    // Two rounds of four people: everyone meets two of the other three.
    run_round(&app, &trial).await;
    run_round(&app, &trial).await;
    let mut met: Vec<(String, String)> = Vec::new();
    for number in [1, 2] {
        for (_, names) in groups(&app.store, &trial, number).await {
            for a in &names {
                for b in names.iter().filter(|b| *b != a) {
                    met.push((a.clone(), b.clone()));
                }
            }
        }
    }

    let page = "/admin/trials/summit/event";
    let html = app.get_html(page).await;
    assert!(html.contains("Send everyone a summary"));
    let response = app
        .submit(page, "/admin/trials/summit/event/summaries", &[])
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, "/admin/trials/summit/event?summaries=3#summary");
    let html = app.get_html(&location).await;
    assert!(html.contains("3 summaries are on their way"), "{html}");
    assert!(html.contains("<strong id=\"summaries-sent\">3</strong>"));

    // Confirmed people who were paired get one each; Hedy (unconfirmed) and Never Came
    // (never paired) get none.
    let summaries = emails_of(&app, "event_summary").await;
    let to: Vec<&str> = summaries.iter().map(|e| e.to_address.as_str()).collect();
    assert_eq!(
        to,
        [
            "ada.lovelace@example.org",
            "alan.turing@example.org",
            "grace.hopper@example.org"
        ]
    );
    for email in &summaries {
        let me = present
            .iter()
            .find(|n| address_of(n) == email.to_address)
            .unwrap();
        assert!(email.body_text.starts_with(&format!("Hello {me},")));
        assert!(email.subject.contains("everyone you met"));
        for other in present.iter().filter(|n| *n != me) {
            let was_met = met.iter().any(|(a, b)| a == me && b == other);
            assert_eq!(
                email.body_text.contains(other),
                was_met,
                "{me}'s summary and {other}:\n{}",
                email.body_text
            );
            // Hedy never confirmed her address: it may not be hers, so it is not passed on.
            let address_shown = was_met && *other != "Hedy Lamarr";
            assert_eq!(email.body_text.contains(&address_of(other)), address_shown);
            assert_eq!(email.body_html.contains(&address_of(other)), address_shown);
        }
        assert!(!email.body_text.contains("Never Came"));
        assert!(
            email.body_text.contains("Nursing"),
            "the grouping attribute"
        );
        assert!(email.body_text.contains("You met 2 people"));
        // One feedback link per group met, opening with "we met" picked.
        assert_eq!(email.body_text.matches("?answer=met").count(), 2);
        assert!(email.body_text.contains("/m/") && email.body_text.contains("/u/"));
    }

    // A second press sends nothing new.
    let again = app
        .submit(page, "/admin/trials/summit/event/summaries", &[])
        .await;
    let location = again.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, "/admin/trials/summit/event?summaries=0#summary");
    let html = app.get_html(&location).await;
    assert!(html.contains("No new summaries to send"));
    assert_eq!(emails_of(&app, "event_summary").await.len(), 3);

    // Each feedback link belongs to Ada and to one of the two groups she was in.
    let ada = &summaries[0];
    let ada_id = public_id(&app, &trial, "Ada Lovelace").await;
    let mut linked_groups: Vec<(i64, String)> = Vec::new();
    for part in ada.body_text.split("/f/").skip(1) {
        let token: String = part.chars().take(64).collect();
        assert!(coffee_trials::tokens::looks_like_token(&token), "{token}");
        assert!(part[64..].starts_with("?answer=met"));
        let row: (String, i64, String) = sqlx::query_as(
            "SELECT t.purpose, t.group_id, m.public_id FROM one_time_tokens t \
             JOIN memberships m ON m.id = t.membership_id WHERE t.token_hash = $1",
        )
        .bind(coffee_trials::tokens::hash_token(&token))
        .fetch_one(app.store.pool())
        .await
        .unwrap();
        assert_eq!(row.0, "feedback");
        linked_groups.push((row.1, row.2));
        // The link opens the feedback page with "we met" picked, as the email says.
        let page = app.get(&format!("/f/{token}?answer=met")).await;
        assert_eq!(page.status().as_u16(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains("id=\"answer-met\""), "{page}");
    }
    assert_eq!(linked_groups.len(), 2);
    for number in [1, 2] {
        let round = app
            .store
            .find_round_by_number(trial.id, number)
            .await
            .unwrap()
            .unwrap();
        let seat = app
            .store
            .round_members(round.id)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.public_id == ada_id)
            .expect("Ada is in every round");
        assert!(
            linked_groups.contains(&(seat.group_id, ada_id.clone())),
            "a link for round {number}"
        );
    }
}

#[tokio::test]
async fn events_someone_marked_as_left_stays_out_after_confirming_their_address() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event_trial(&app, "ward-day").await;
    for name in ["Ada Lovelace", "Alan Turing", "Grace Hopper"] {
        sign_up(&app, "ward-day", name).await;
        tick(&app, &trial, name).await;
    }
    mark_left(&app, &trial, "Grace Hopper").await;
    // On the way home Grace follows the link in her confirmation email, which makes her
    // membership active again; she has still gone from the room.
    confirm(&app, "Grace Hopper").await;
    let number = run_round(&app, &trial).await;
    let names = names_in(&groups(&app.store, &trial, number).await);
    let expected: HashSet<String> = ["Ada Lovelace", "Alan Turing"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(names, expected);
    let list = app.get_html("/admin/trials/ward-day/event").await;
    assert!(list.contains("<strong>2</strong> here"), "{list}");
}

#[tokio::test]
async fn events_quick_rounds_started_at_the_same_moment_repeat_no_pair() {
    let app = spawn_app().await;
    // Three rooms of four, three rounds pressed at once in each: the rounds must still be a
    // round-robin (all six pairs, each once), however the requests interleave.
    for room in 0..3 {
        let slug = format!("room-{room}");
        let trial = event_trial(&app, &slug).await;
        for who in ["Ann", "Bob", "Cat", "Dan"] {
            let name = format!("{who} Room{room}");
            sign_up(&app, &slug, &name).await;
            let id = public_id(&app, &trial, &name).await;
            app.store.check_in(trial.id, &id, Utc::now()).await.unwrap();
        }
        let run = || {
            coffee_trials::app::events::run_quick_round(
                &app.store,
                &trial,
                rand::random(),
                None,
                Utc::now(),
            )
        };
        let (a, b, c) = tokio::join!(run(), run(), run());
        let mut numbers: Vec<i64> = [a, b, c]
            .into_iter()
            .map(|r| r.expect("each press runs a round").view.round.number)
            .collect();
        numbers.sort();
        assert_eq!(numbers, [1, 2, 3], "{slug}");
        let mut met: HashSet<Vec<String>> = HashSet::new();
        for number in numbers {
            for (_, mut names) in groups(&app.store, &trial, number).await {
                names.sort();
                assert!(met.insert(names.clone()), "{names:?} met twice in {slug}");
            }
        }
        assert_eq!(met.len(), 6, "{slug}");
    }
}

#[tokio::test]
async fn events_check_in_search_ignores_case_beyond_ascii() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    event_trial(&app, "salon").await;
    sign_up_as(&app, "salon", "Émile Zola", "emile@example.org").await;
    sign_up_as(&app, "salon", "Zoë Ball", "zoe@example.org").await;
    sign_up(&app, "salon", "Ada Lovelace").await;
    let page = "/admin/trials/salon/event";
    // "émile" and "ZOË" in the address, percent-encoded as a browser sends them.
    let found = app.get_html(&format!("{page}?q=%C3%A9mile")).await;
    assert!(
        found.contains("Émile Zola") && !found.contains("Ada Lovelace"),
        "{found}"
    );
    let found = app.get_html(&format!("{page}?q=ZO%C3%8B")).await;
    assert!(
        found.contains("Zoë Ball") && !found.contains("Émile Zola"),
        "{found}"
    );
    // Characters that are wildcards in SQL are only characters here.
    let none = app.get_html(&format!("{page}?q=%25")).await;
    assert!(none.contains("Nobody's name contains"), "{none}");
}

#[tokio::test]
async fn events_people_who_cannot_be_placed_are_counted_and_a_round_of_nobody_is_refused() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event_trial(&app, "retreat").await;
    let mut membership = std::collections::HashMap::new();
    for name in ["Ada Lovelace", "Alan Turing", "Grace Hopper"] {
        sign_up(&app, "retreat", name).await;
        tick(&app, &trial, name).await;
        let person = app.store.event_people(trial.id, Some(name)).await.unwrap();
        membership.insert(name, person[0].membership_id);
    }
    // Test set-up: Ada's private do-not-pair list names both others, as her manage page would.
    let ada = app
        .store
        .find_member_by_id(membership["Ada Lovelace"])
        .await
        .unwrap()
        .unwrap();
    let mut others = Vec::new();
    for other in ["Alan Turing", "Grace Hopper"] {
        let member = app.store.find_member_by_id(membership[other]).await;
        others.push(member.unwrap().unwrap().public_id);
    }
    let saved = app.store.set_do_not_pair(&ada, &others, Utc::now()).await;
    assert_eq!(saved.unwrap(), 2);
    let location = run_round_emailing(&app, &trial, false).await;
    assert_eq!(location, "/admin/trials/retreat/event?started=1&unplaced=1");
    let page = app.get_html(&location).await;
    assert!(page.contains("1 person who is here is not in it"), "{page}");
    let expected: HashSet<String> = ["Alan Turing", "Grace Hopper"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(names_in(&groups(&app.store, &trial, 1).await), expected);

    // With only Ada and Alan here nobody can be paired: no empty round is published.
    mark_left(&app, &trial, "Grace Hopper").await;
    let refused = app
        .submit(
            "/admin/trials/retreat/event",
            "/admin/trials/retreat/event/rounds",
            &[],
        )
        .await;
    assert_eq!(refused.status().as_u16(), 422);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("nobody who is checked in can be paired"));
    assert!(app
        .store
        .find_round_by_number(trial.id, 2)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn events_summaries_sent_twice_at_the_same_moment_go_once_each() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event_trial(&app, "forum").await;
    let people = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Hedy Lamarr"];
    for name in people {
        sign_up(&app, "forum", name).await;
        tick(&app, &trial, name).await;
        confirm(&app, name).await;
    }
    run_round(&app, &trial).await;
    let base_url = url::Url::parse(&app.url("/")).unwrap();
    let send =
        || coffee_trials::app::events::send_summaries(&app.store, &trial, &base_url, Utc::now());
    // Two organisers pressing at once: neither fails, and each person gets one summary.
    let (a, b) = tokio::join!(send(), send());
    assert_eq!(
        a.expect("the first press works") + b.expect("the second press works"),
        4
    );
    assert_eq!(emails_of(&app, "event_summary").await.len(), 4);
}

#[tokio::test]
async fn events_gone_home_is_not_leaving_the_trial_and_an_organiser_tick_undoes_it() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event_trial(&app, "study-day").await;
    let mut phones = Vec::new();
    for name in ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Hedy Lamarr"] {
        phones.push(sign_up(&app, "study-day", name).await);
        tick(&app, &trial, name).await;
        confirm(&app, name).await;
    }
    run_round(&app, &trial).await;
    mark_left(&app, &trial, "Hedy Lamarr").await;

    // Gone home: out of the room, still in the trial.
    let hedy = public_id(&app, &trial, "Hedy Lamarr").await;
    let people = app.store.event_people(trial.id, None).await.unwrap();
    let row = people.iter().find(|p| p.public_id == hedy).unwrap();
    assert_eq!(row.state, MembershipState::Active);
    assert!(row.has_left() && !row.is_checked_in());
    let list = app.get_html("/admin/trials/study-day/event").await;
    assert!(
        list.contains("Gone home") && list.contains("Back in the room"),
        "{list}"
    );

    // Her own "I'm here" does not bring her back; the round goes on without her.
    // (Her page has no button any more; the POST is sent anyway, with a CSRF token from
    // another page of the same browser.)
    let page = format!("/e/{}", phones[3]);
    assert!(!app.get_html(&page).await.contains("/here\""));
    app.submit(
        "/admin/trials/study-day/event",
        &format!("{page}/here"),
        &[],
    )
    .await;
    let round = run_round(&app, &trial).await;
    assert!(!names_in(&groups(&app.store, &trial, round).await).contains("Hedy Lamarr"));

    // The summary still reaches her: she met someone in round 1.
    app.submit(
        "/admin/trials/study-day/event",
        "/admin/trials/study-day/event/summaries",
        &[],
    )
    .await;
    let summaries = emails_of(&app, "event_summary").await;
    assert!(summaries
        .iter()
        .any(|e| e.to_address == "hedy.lamarr@example.org"));

    // The organiser's tick brings her back for the next round.
    tick(&app, &trial, "Hedy Lamarr").await;
    let round = run_round(&app, &trial).await;
    assert!(names_in(&groups(&app.store, &trial, round).await).contains("Hedy Lamarr"));
}

/// Posts the event sign-up form and returns the status, the place it leads to, and the body.
async fn sign_up_response(
    app: &TestApp,
    slug: &str,
    name: &str,
    email: &str,
) -> (u16, String, String) {
    let page = format!("/t/{slug}");
    let response = app
        .submit(
            &page,
            &page,
            &[
                ("name", name),
                ("email", email),
                ("attribute_value", "Nursing"),
                ("consent", "yes"),
            ],
        )
        .await;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, response.text().await.unwrap())
}

/// A phone page with what differs between two people taken out: their name, their link and
/// the form's CSRF token.
fn page_shape(html: &str, name: &str, token: &str) -> String {
    let csrf = csrf_from(html);
    html.replace(name, "NAME")
        .replace(token, "TOKEN")
        .replace(&csrf, "CSRF")
}

/// The newest confirmation link emailed to `address`.
async fn newest_confirm_link(app: &TestApp, address: &str) -> String {
    let outbox = app.store.list_outbox(500).await.unwrap();
    let email = outbox
        .iter()
        .filter(|e| e.template == "participant_confirm" && e.to_address == address)
        .max_by_key(|e| e.id)
        .expect("a confirmation email");
    crate::participants::link_path(&email.body_text, "/c/")
}

async fn member_with_email(
    app: &TestApp,
    trial: &Trial,
    email: &str,
) -> coffee_trials::store::participants::Member {
    app.store
        .list_members(trial.id, &Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.email.as_deref() == Some(email))
        .unwrap_or_else(|| panic!("{email} is a member"))
}

#[tokio::test]
async fn events_a_known_address_is_signed_up_as_typed_and_reveals_nothing() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event_trial(&app, "open-day").await;
    // Ada is known in the event itself; Grace only in another trial.
    sign_up(&app, "open-day", "Ada Lovelace").await;
    confirm(&app, "Ada Lovelace").await;
    let programme = app
        .store
        .create_trial(
            &TrialSettings::try_from(&TrialInput {
                name: "Reading group".into(),
                slug: "reading-group".into(),
                ..Default::default()
            })
            .unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();
    let (status, location, _) = sign_up_response(
        &app,
        "reading-group",
        "Grace Hopper",
        "grace.hopper@example.org",
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/t/reading-group/check-email"),
        "a programme sign-up: check your email"
    );
    let ada_before = member_with_email(&app, &trial, "ada.lovelace@example.org").await;
    let grace_before = member_with_email(&app, &programme, "grace.hopper@example.org").await;

    // Three sign-ups in the room: two with known addresses under other names, one new.
    let known_here =
        sign_up_response(&app, "open-day", "Mallory Mole", "ada.lovelace@example.org").await;
    let known_elsewhere =
        sign_up_response(&app, "open-day", "Trudy Tern", "grace.hopper@example.org").await;
    let unknown = sign_up_response(&app, "open-day", "Nina New", "nina.new@example.org").await;
    let mut pages = Vec::new();
    for ((status, location, body), name) in [
        (&known_here, "Mallory Mole"),
        (&known_elsewhere, "Trudy Tern"),
        (&unknown, "Nina New"),
    ] {
        assert_eq!(*status, 303, "{name}: straight to a phone page");
        let token = location.strip_prefix("/e/").expect("a phone page");
        assert_eq!(token.len(), 64);
        assert_eq!(body, &unknown.2, "{name}: the same answer");
        let phone = app.get_html(location).await;
        assert!(phone.contains(&format!("Hello, {name}")), "{phone}");
        for stored in [
            "Ada Lovelace",
            "Grace Hopper",
            "ada.lovelace",
            "grace.hopper",
        ] {
            assert!(
                !phone.contains(stored),
                "{stored} on {name}'s page: {phone}"
            );
        }
        pages.push(page_shape(&phone, name, token));
        im_here(&app, token).await;
    }
    assert_eq!(
        pages[0], pages[2],
        "known and unknown addresses get the same page"
    );
    assert_eq!(
        pages[1], pages[2],
        "known and unknown addresses get the same page"
    );

    // In the room they are who they typed, on the display as in the check-in list.
    let number = run_round(&app, &trial).await;
    let names = names_in(&groups(&app.store, &trial, number).await);
    let expected: HashSet<String> = ["Mallory Mole", "Trudy Tern", "Nina New"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(names, expected);
    let display = app.get_html("/admin/trials/open-day/display").await;
    assert!(display.contains("Mallory Mole") && display.contains("Trudy Tern"));
    assert!(!display.contains("Ada Lovelace") && !display.contains("Grace Hopper"));

    // The people already known are untouched: not checked in, not paired, not renamed.
    let ada_after = member_with_email(&app, &trial, "ada.lovelace@example.org").await;
    assert_eq!(ada_after, ada_before);
    let grace_after = member_with_email(&app, &programme, "grace.hopper@example.org").await;
    assert_eq!(grace_after, grace_before);
    assert_eq!(
        app.store
            .memberships_of_participant(grace_before.participant_id)
            .await
            .unwrap()
            .len(),
        1,
        "Grace is not in the event until she confirms"
    );
    assert!(app
        .store
        .past_partners(ada_before.membership_id)
        .await
        .unwrap()
        .is_empty());
    let (checked_in, _) = app
        .store
        .room_status(ada_before.membership_id)
        .await
        .unwrap();
    assert!(!checked_in);

    // Grace follows the emailed link: the sign-up becomes hers, under her own name, with the
    // round it was in; the stand-in person is gone.
    let link = newest_confirm_link(&app, "grace.hopper@example.org").await;
    let page = app.get_html(&link).await;
    assert!(page.contains("Trudy Tern") && !page.contains("Grace Hopper"));
    let confirmed = app.submit(&link, &link, &[]).await;
    assert_eq!(confirmed.status().as_u16(), 303);
    let grace_here = member_with_email(&app, &trial, "grace.hopper@example.org").await;
    assert_eq!(grace_here.name, "Grace Hopper");
    assert_eq!(grace_here.participant_id, grace_before.participant_id);
    assert!(grace_here.confirmed_at.is_some());
    let partners = app
        .store
        .past_partners(grace_here.membership_id)
        .await
        .unwrap();
    assert!(!partners.is_empty(), "the round she was in");
    assert!(partners.iter().all(|p| p.round_number == number));
    let people = app.store.event_people(trial.id, None).await.unwrap();
    assert!(!people.iter().any(|p| p.name == "Trudy Tern"), "{people:?}");
    assert_eq!(
        member_with_email(&app, &programme, "grace.hopper@example.org")
            .await
            .name,
        "Grace Hopper"
    );

    // Erasing the stand-in (from the manage link in the email only the owner received)
    // forgets the address it was waiting for, too.
    let mallory = app
        .store
        .event_people(trial.id, Some("Mallory Mole"))
        .await
        .unwrap()
        .remove(0);
    let stand_in = app
        .store
        .find_member_by_id(mallory.membership_id)
        .await
        .unwrap()
        .unwrap();
    app.store
        .erase_participant(stand_in.participant_id, "Former participant", Utc::now())
        .await
        .unwrap();
    let (claimed,): (Option<String>,) =
        sqlx::query_as("SELECT claimed_email FROM memberships WHERE id = $1")
            .bind(mallory.membership_id)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(claimed, None);
}

#[tokio::test]
async fn events_confirming_a_known_address_joins_its_history_and_do_not_pair_list() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event_trial(&app, "team-day").await;
    for name in ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Hedy Lamarr"] {
        sign_up(&app, "team-day", name).await;
        confirm(&app, name).await;
    }
    let ada = member_with_email(&app, &trial, "ada.lovelace@example.org").await;
    let alan = member_with_email(&app, &trial, "alan.turing@example.org").await;
    let kept = app
        .store
        .set_do_not_pair(&ada, std::slice::from_ref(&alan.public_id), Utc::now())
        .await
        .unwrap();
    assert_eq!(kept, 1);

    // Ada signs up again on a borrowed phone, under a shorter name, and meets Grace.
    let phone_token = sign_up_as(&app, "team-day", "Ada L", "ada.lovelace@example.org").await;
    im_here(&app, &phone_token).await;
    tick(&app, &trial, "Grace Hopper").await;
    let first = run_round(&app, &trial).await;
    let names = names_in(&groups(&app.store, &trial, first).await);
    assert!(names.contains("Ada L") && names.contains("Grace Hopper"));
    assert!(app
        .store
        .past_partners(ada.membership_id)
        .await
        .unwrap()
        .is_empty());

    // Following the emailed link joins the sign-up to her: one Ada, checked in, with the
    // round she was in and her do-not-pair list.
    let link = newest_confirm_link(&app, "ada.lovelace@example.org").await;
    let confirmed = app.submit(&link, &link, &[]).await;
    assert_eq!(confirmed.status().as_u16(), 303);
    let manage = confirmed.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(manage.starts_with("/m/"), "{manage}");
    let people = app.store.event_people(trial.id, None).await.unwrap();
    assert_eq!(people.len(), 4, "{people:?}");
    assert!(!people.iter().any(|p| p.name == "Ada L"));
    let joined = member_with_email(&app, &trial, "ada.lovelace@example.org").await;
    assert_eq!(joined.membership_id, ada.membership_id);
    assert_eq!(joined.name, "Ada Lovelace");
    let (checked_in, _) = app.store.room_status(ada.membership_id).await.unwrap();
    assert!(checked_in, "the sign-up's check-in moved across");
    let partners: Vec<String> = app
        .store
        .past_partners(ada.membership_id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(partners, ["Grace Hopper"]);
    let list = app.store.do_not_pair_list(ada.membership_id).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].public_id, alan.public_id);
    // Her phone page still works, now as her.
    let phone = app.get_html(&format!("/e/{phone_token}")).await;
    assert!(phone.contains("Hello, Ada Lovelace"), "{phone}");

    // The engine sees one person: not Alan (her list), not Grace again (her history).
    tick(&app, &trial, "Alan Turing").await;
    tick(&app, &trial, "Hedy Lamarr").await;
    let second = run_round(&app, &trial).await;
    let mut pairs: Vec<Vec<String>> = groups(&app.store, &trial, second)
        .await
        .into_iter()
        .map(|(_, mut names)| {
            names.sort();
            names
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            vec!["Ada Lovelace".to_string(), "Hedy Lamarr".to_string()],
            vec!["Alan Turing".to_string(), "Grace Hopper".to_string()],
        ]
    );
    // The sign-up's placements moved across with the history counts they carry.
    crate::person_history::assert_history_counts_are_true(&app.store).await;
}
