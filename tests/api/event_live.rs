//! The pages that keep themselves current (the projector display and a person's event page)
//! and the parts of them the script fetches; the accessibility of forms and of buttons in
//! lists. What a browser does with them is in `browser_axe.rs`.
use chrono::Utc;
use coffee_trials::app::events;
use coffee_trials::store::trials::Trial;

use crate::builders::{PersonBuilder, TrialBuilder};
use crate::helpers::{spawn_app, TestApp};

async fn event(app: &TestApp, slug: &str) -> Trial {
    TrialBuilder::new(slug)
        .name("Winter school")
        .kind("event")
        .create(&app.store)
        .await
}

/// Adds people by name, ticks them in and returns their public ids.
async fn in_the_room(app: &TestApp, trial: &Trial, names: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let email = format!("{}.{i}@example.org", trial.slug);
        let person = PersonBuilder::new(name, &email)
            .add_to(&app.store, trial)
            .await;
        events::check_in(&app.store, trial, &person.public_id, Utc::now())
            .await
            .unwrap();
        ids.push(person.public_id);
    }
    ids
}

fn version(html: &str) -> String {
    let marker = "data-version=\"";
    let start = html.find(marker).expect("the board has a version") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

#[tokio::test]
async fn live_display_board_is_the_page_s_changing_part_and_changes_with_the_round() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event(&app, "winter").await;
    let people = [
        "Zoë Quint",
        "émile Roux",
        "Ada Lovelace",
        "Eve Adams",
        "bob Marley",
        "Carl Sagan",
    ];
    in_the_room(&app, &trial, &people).await;

    let before = app.get("/admin/trials/winter/display/board").await;
    assert_eq!(before.status().as_u16(), 200);
    let before = before.text().await.unwrap();
    assert!(before.contains("The first round starts soon"), "{before}");
    assert!(
        !before.contains("<html"),
        "a fragment, not a page: {before}"
    );

    events::run_quick_round(&app.store, &trial, 7, None, Utc::now())
        .await
        .unwrap();
    let page = app.get_html("/admin/trials/winter/display").await;
    let board = app.get_html("/admin/trials/winter/display/board").await;
    assert_ne!(
        version(&before),
        version(&board),
        "a new round is a new board"
    );
    // Asked again with nothing changed, the board is the same (the script then leaves the page
    // alone), and it is exactly what the page holds.
    let again = app.get_html("/admin/trials/winter/display/board").await;
    assert_eq!(version(&board), version(&again));
    assert!(page.contains(board.trim()), "the page holds the board");
    assert!(page.contains("data-live-src=\"/admin/trials/winter/display/board\""));
    assert!(page.contains("<a href=\"/admin/trials/winter/display\">Refresh</a>"));
    assert!(page.contains("data-live-pause"), "a pause control");
    assert!(!page.contains("http-equiv=\"refresh\""));

    // "Find your name": everyone, in the order people look for their name, with a table.
    let names_section = &board[board.find("id=\"names\"").expect("the names view")..];
    let mut at = 0;
    for name in [
        "Ada Lovelace",
        "bob Marley",
        "Carl Sagan",
        "émile Roux",
        "Eve Adams",
        "Zoë Quint",
    ] {
        let found = names_section[at..]
            .find(&format!(
                "<span class=\"name\">{name}</span> <span class=\"at\">Table "
            ))
            .unwrap_or_else(|| panic!("{name} after position {at} in {names_section}"));
        at += found + 1;
    }

    // A second round changes the board again.
    events::run_quick_round(&app.store, &trial, 8, None, Utc::now())
        .await
        .unwrap();
    let second = app.get_html("/admin/trials/winter/display/board").await;
    assert_ne!(version(&board), version(&second));
    assert!(second.contains("round 2"), "{second}");

    // Nobody signed out gets the board.
    let stranger = app
        .anonymous_client()
        .get(app.url("/admin/trials/winter/display/board"))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status().as_u16(), 303);
}

#[tokio::test]
async fn live_phone_status_follows_the_person_and_a_dead_link_stops_it() {
    let app = spawn_app().await;
    let trial = event(&app, "spring").await;
    let page = "/t/spring";
    let response = app
        .submit(
            page,
            page,
            &[
                ("name", "Grace Hopper"),
                ("email", "grace@example.org"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let phone = response.headers()["location"].to_str().unwrap().to_string();
    let status = format!("{phone}/status");

    let html = app.get_html(&phone).await;
    assert!(!html.contains("http-equiv=\"refresh\""));
    assert!(html.contains(&format!("data-live-src=\"{status}\"")));
    let first = app.get(&status).await;
    assert_eq!(first.status().as_u16(), 200);
    let first = first.text().await.unwrap();
    assert!(
        first.contains("I'm here") && !first.contains("<html"),
        "{first}"
    );

    // Checked in and paired: the status shows the table without reloading the page.
    in_the_room(&app, &trial, &["Alan Turing"]).await;
    let token = phone.strip_prefix("/e/").unwrap();
    events::im_here(&app.store, token, Utc::now())
        .await
        .unwrap();
    events::run_quick_round(&app.store, &trial, 1, None, Utc::now())
        .await
        .unwrap();
    let seated = app.get_html(&status).await;
    assert!(
        seated.contains("<p class=\"table\">Table 1</p>"),
        "{seated}"
    );
    assert!(
        seated.contains("<p class=\"partner\">Alan Turing</p>"),
        "{seated}"
    );

    // The page and the status each allow our own script and fetching from the site only.
    let response = app.get(&phone).await;
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("connect-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    let display = app.get("/admin/trials/spring/display").await;
    assert!(display.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("connect-src 'self'"));

    let gone = app.get(&format!("/e/{}/status", "0".repeat(64))).await;
    assert_eq!(gone.status().as_u16(), 410);
}

#[tokio::test]
async fn live_check_in_buttons_say_whose_they_are() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = event(&app, "autumn").await;
    PersonBuilder::new("Ada Lovelace", "ada@example.org")
        .add_to(&app.store, &trial)
        .await;
    in_the_room(&app, &trial, &["Grace Hopper"]).await;
    let html = app.get_html("/admin/trials/autumn/event").await;
    assert!(
        html.contains("Tick<span class=\"visually-hidden\"> Ada Lovelace in</span></button>"),
        "{html}"
    );
    assert!(html.contains("Mark<span class=\"visually-hidden\"> Ada Lovelace</span> as left"));
    assert!(html.contains("Mark<span class=\"visually-hidden\"> Grace Hopper</span> as left"));
}

#[tokio::test]
async fn live_a_failed_form_opens_with_a_summary_linked_to_fields_tied_to_their_messages() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let response = app
        .submit(
            "/admin/trials/new",
            "/admin/trials",
            &[("name", ""), ("slug", "Not A Slug!"), ("kind", "programme")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    let summary = &html[html
        .find("<div class=\"error-summary\"")
        .expect("an error summary")..];
    let summary = &summary[..summary.find("</div>").unwrap()];
    assert!(summary.contains("tabindex=\"-1\" autofocus"), "{summary}");
    assert!(summary.contains("<a href=\"#slug\">"), "{summary}");
    assert!(summary.contains("<a href=\"#name\">"), "{summary}");
    // The summary comes before the form, and each field points at its message (and hint).
    assert!(
        html.find("error-summary").unwrap()
            < html
                .find("<form method=\"post\" action=\"/admin/trials\"")
                .unwrap()
    );
    assert!(html
        .contains("id=\"slug\" aria-describedby=\"slug-hint slug-error\" aria-invalid=\"true\""));
    assert!(html.contains("id=\"name\" aria-describedby=\"name-error\" aria-invalid=\"true\""));
    assert!(html.contains("<p class=\"error\" id=\"slug-error\">"));
    // A field without an error is left alone; what was typed stays.
    assert!(html.contains("id=\"description\" name=\"description\""));
    assert!(html.contains("value=\"Not A Slug!\""));

    // The same partial on a public form.
    let trial = TrialBuilder::new("open").create(&app.store).await;
    let page = format!("/t/{}", trial.slug);
    let response = app
        .submit(
            &page,
            &page,
            &[("name", "Ada"), ("email", "not an address")],
        )
        .await;
    let html = response.text().await.unwrap();
    assert!(html.contains("<a href=\"#email\">"), "{html}");
    assert!(html.contains(
        "id=\"email\" aria-describedby=\"email-hint email-error\" aria-invalid=\"true\""
    ));
}
