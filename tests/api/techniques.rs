//! The technique library: pages, chooser and JSON API over the seeded techniques.
use coffee_trials::library::{builtin_techniques, Phase, TechniqueInput, BODY_SECTIONS};
use coffee_trials::store::techniques::TechniqueWriteError;
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};

/// Text as askama writes it into a page (numeric character references).
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let response = app.get(path).await;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("text/html"),
        "{path}: {content_type}"
    );
    (status, response.text().await.expect("a body"))
}

fn slugs(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is an array in {list}"))
        .iter()
        .map(|t| t["slug"].as_str().expect("a slug").to_string())
        .collect()
}

fn body_with(extra: &str) -> String {
    let sections: Vec<String> = BODY_SECTIONS
        .iter()
        .map(|s| format!("## {s}\n\nPlain words.\n"))
        .collect();
    format!("{}\n{extra}\n", sections.join("\n"))
}

#[tokio::test]
async fn every_seeded_technique_is_in_the_api_and_has_a_page() {
    let app = spawn_app().await;
    let seeded = builtin_techniques();
    assert_eq!(seeded.len(), 14);

    let (status, list) = app.get_json("/api/v1/techniques").await;
    assert_eq!(status, 200);
    let expected: Vec<String> = seeded.iter().map(|t| t.slug.clone()).collect();
    // The seed lists the techniques phase by phase, by position: the API's order.
    assert_eq!(slugs(&list, "techniques"), expected);

    for t in &seeded {
        let (status, json) = app
            .get_json(&format!("/api/v1/techniques/{}", t.slug))
            .await;
        assert_eq!(status, 200, "{}", t.slug);
        assert_eq!(json["name"], t.name.as_str());
        assert_eq!(json["phase"], t.phase.as_str());
        assert_eq!(json["summary"], t.summary.as_str());
        assert_eq!(json["body_md"], t.body_md.as_str());
        assert_eq!(json["duration_min_minutes"], t.duration_min_minutes);
        assert_eq!(json["people_max"], serde_json::json!(t.people_max));
        assert_eq!(json["is_builtin"], true);
        let html = json["body_html"].as_str().expect("body_html");
        assert!(html.contains("<h2>What it is for</h2>"), "{}", t.slug);

        let (status, html) = page(&app, &format!("/techniques/{}", t.slug)).await;
        assert_eq!(status, 200, "{}", t.slug);
        assert!(
            html.contains(&format!("<h1>{}</h1>", escaped(&t.name))),
            "{}",
            t.slug
        );
        assert!(html.contains("<h2>How to run it</h2>"), "{}", t.slug);
    }
}

#[tokio::test]
async fn the_list_page_groups_techniques_by_phase_in_order() {
    let app = spawn_app().await;
    let (status, html) = page(&app, "/techniques").await;
    assert_eq!(status, 200);
    assert!(html.contains(coffee_trials::library::LEARNING_CYCLE));
    assert!(html.contains(r#"action="/techniques/choose""#));

    let heading_at = |phase: Phase| {
        html.find(&format!(
            r#"<h2 id="{}">{}</h2>"#,
            phase.as_str(),
            escaped(phase.heading())
        ))
        .unwrap_or_else(|| panic!("a heading for {phase}"))
    };
    let starts = Phase::ALL.map(heading_at);
    assert!(starts[0] < starts[1] && starts[1] < starts[2], "{starts:?}");

    for t in builtin_techniques() {
        let at = html
            .find(&format!(r#"href="/techniques/{}""#, t.slug))
            .unwrap_or_else(|| panic!("a link to {}", t.slug));
        let section = starts.iter().rposition(|&start| start < at);
        assert_eq!(section.map(|i| Phase::ALL[i]), Some(t.phase), "{}", t.slug);
    }
    // Durations and group sizes in words.
    assert!(html.contains("<span>30 minutes</span>"));
    assert!(html.contains("<span>2+ people</span>"));
    assert!(html.contains(
        "<span>1–1.5 hours</span> <span aria-hidden=\"true\">·</span> <span>2–8 people</span>"
    ));
}

#[tokio::test]
async fn the_api_list_filters_by_phase() {
    let app = spawn_app().await;
    for phase in Phase::ALL {
        let (status, list) = app
            .get_json(&format!("/api/v1/techniques?phase={}", phase.as_str()))
            .await;
        assert_eq!(status, 200);
        let expected: Vec<String> = builtin_techniques()
            .into_iter()
            .filter(|t| t.phase == phase)
            .map(|t| t.slug)
            .collect();
        assert_eq!(slugs(&list, "techniques"), expected, "{phase}");
    }
    let (status, error) = app.get_json("/api/v1/techniques?phase=soon").await;
    assert_eq!(status, 422);
    assert_eq!(error["field"], "phase");
    assert!(error["error"].is_string());
}

#[tokio::test]
async fn the_chooser_api_answers_a_table_of_questions() {
    let app = spawn_app().await;
    // (query, the suggestions in order, whether they fit)
    let cases: &[(&str, &[&str], bool)] = &[
        (
            "phase=before&minutes=60&people=4",
            &["self-assessment-tool", "before-action-review"],
            true,
        ),
        (
            "phase=during&minutes=30&people=2",
            &["after-action-review", "randomised-coffee-trials"],
            true,
        ),
        ("phase=after&people=1", &["leavers-toolkit"], true),
        (
            "people=200",
            &[
                "communities-of-practice",
                "knowledge-assets",
                "randomised-coffee-trials",
            ],
            true,
        ),
        (
            "phase=before&minutes=240&people=20",
            &["peer-assist", "appreciative-inquiry"],
            true,
        ),
        (
            "phase=before&minutes=5&people=100",
            &[
                "before-action-review",
                "appreciative-inquiry",
                "peer-assist",
            ],
            false,
        ),
    ];
    for (query, expected, fits) in cases {
        let (status, body) = app
            .get_json(&format!("/api/v1/techniques/choose?{query}"))
            .await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(slugs(&body, "suggestions"), *expected, "{query}");
        for s in body["suggestions"].as_array().unwrap() {
            assert_eq!(s["fits"], *fits, "{query}");
            assert!(!s["reason"].as_str().unwrap().is_empty());
            assert!(s["name"].is_string());
        }
    }

    // No question at all: the whole library, and it all fits.
    let (status, body) = app.get_json("/api/v1/techniques/choose").await;
    assert_eq!(status, 200);
    assert_eq!(slugs(&body, "suggestions").len(), 14);

    for (query, field) in [
        ("minutes=abc", "minutes"),
        ("minutes=-5", "minutes"),
        ("minutes=0", "minutes"),
        ("minutes=99999999999", "minutes"),
        ("people=1.5", "people"),
        ("people=1000000", "people"),
        ("phase=someday", "phase"),
    ] {
        let (status, body) = app
            .get_json(&format!("/api/v1/techniques/choose?{query}"))
            .await;
        assert_eq!(status, 422, "{query}");
        assert_eq!(body["field"], field, "{query}");
        assert!(body["error"].is_string(), "{query}");
    }
}

#[tokio::test]
async fn the_chooser_page_suggests_and_explains() {
    let app = spawn_app().await;

    let (status, html) = page(&app, "/techniques/choose").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>What are you about to do?</h1>"));
    assert!(html.contains(r#"<label for="minutes">"#));
    assert!(!html.contains("Techniques that fit"));

    let (status, html) = page(&app, "/techniques/choose?phase=during&minutes=30&people=2").await;
    assert_eq!(status, 200);
    assert!(html.contains("Techniques that fit"));
    assert!(!html.contains("Nothing fits exactly"));
    assert!(html.contains(r#"<option value="during" selected>"#));
    assert!(html.contains(r#"value="30""#) && html.contains(r#"value="2""#));
    let aar = html
        .find(r#"href="/techniques/after-action-review""#)
        .unwrap();
    let rct = html
        .find(r#"href="/techniques/randomised-coffee-trials""#)
        .unwrap();
    assert!(aar < rct);
    assert!(html.contains("For work that is under way; fits in 30 minutes"));

    let (status, html) = page(&app, "/techniques/choose?phase=before&minutes=5&people=100").await;
    assert_eq!(status, 200);
    assert!(html.contains("Nothing fits exactly"));
    assert!(html.contains("nearest"));
}

#[tokio::test]
async fn the_chooser_page_shows_bad_answers_next_to_their_fields() {
    let app = spawn_app().await;
    let (status, html) = page(
        &app,
        "/techniques/choose?phase=during&minutes=abc&people=-3",
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("<title>Error: "));
    assert!(html.contains(r#"id="minutes-error""#));
    assert!(html.contains(r#"id="people-error""#));
    assert!(!html.contains(r#"id="phase-error""#));
    assert!(html.contains(r#"value="abc""#));
    assert!(html.contains(r#"value="-3""#));
    assert!(html.contains(r#"<option value="during" selected>"#));
    assert!(html.contains(r#"aria-invalid="true""#));
    assert!(!html.contains("Techniques that fit"));

    let (status, html) = page(&app, "/techniques/choose?phase=later&minutes=1000000000").await;
    assert_eq!(status, 422);
    assert!(html.contains(r#"id="phase-error""#));
    assert!(html.contains(r#"id="minutes-error""#));
    assert!(html.contains(r#"value="1000000000""#));

    // What was typed is shown again as text, never as markup.
    let (status, html) = page(&app, "/techniques/choose?minutes=%22%3E%3Cscript%3Ex").await;
    assert_eq!(status, 422);
    assert!(html.contains(&format!(r#"value="{}""#, escaped("\"><script>x"))));
    assert!(!html.contains("<script"));
}

#[tokio::test]
async fn an_unknown_slug_is_not_found() {
    let app = spawn_app().await;
    let (status, html) = page(&app, "/techniques/no-such-technique").await;
    assert_eq!(status, 404);
    assert!(html.contains("Technique not found"));

    let (status, body) = app.get_json("/api/v1/techniques/no-such-technique").await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
    assert!(body["field"].is_null());
}

#[tokio::test]
async fn markup_in_an_edited_technique_is_shown_as_text() {
    let app = spawn_app().await;
    let body = body_with(
        "<script>alert(1)</script>\n\n\
         See [this page](javascript:alert(1)) and [the guide](https://example.org/guide).",
    );
    let input = TechniqueInput {
        slug: "peer-assist",
        name: "Peer assist <b>now</b>",
        phase: "before",
        summary: "Learn from those who went before.",
        duration_min_minutes: 60,
        duration_max_minutes: 120,
        people_min: 3,
        people_max: None,
        body_md: &body,
    };
    let saved = app
        .store
        .update_technique("peer-assist", &input)
        .await
        .expect("saved");
    assert_eq!(saved.body_md, body);
    assert_eq!(saved.position, 2);

    let (status, html) = page(&app, "/techniques/peer-assist").await;
    assert_eq!(status, 200);
    assert!(html.contains("&lt;script&gt;"));
    assert!(!html.contains("<script"));
    assert!(!html.contains("javascript:"));
    assert!(html.contains("this page"));
    assert!(html.contains(r#"<a href="https://example.org/guide">the guide</a>"#));
    assert!(html.contains(&escaped("Peer assist <b>now</b>")));
    assert!(html.contains("1–2 hours") && html.contains("3+ people"));

    let (_, json) = app.get_json("/api/v1/techniques/peer-assist").await;
    let body_html = json["body_html"].as_str().unwrap();
    assert!(body_html.contains("&lt;script&gt;") && !body_html.contains("<script"));
    assert!(!body_html.contains("javascript:"));
}

#[tokio::test]
async fn techniques_are_created_and_edited_with_unique_slugs() {
    let app = spawn_app().await;
    let body = body_with("");
    let input = TechniqueInput {
        slug: "lessons-log",
        name: "Lessons log",
        phase: "after",
        summary: "Keep a running list of what was learned.",
        duration_min_minutes: 15,
        duration_max_minutes: 30,
        people_min: 1,
        people_max: Some(12),
        body_md: &body,
    };
    let created = app.store.create_technique(&input).await.expect("created");
    assert_eq!(created.slug, "lessons-log");
    assert!(!created.is_builtin);
    // The seed has three "after" techniques, so the new one comes fourth.
    assert_eq!(created.position, 4);
    assert_eq!(created.created_at, created.updated_at);

    let taken = app.store.create_technique(&input).await;
    assert!(
        matches!(taken, Err(TechniqueWriteError::SlugTaken)),
        "{taken:?}"
    );

    // Renaming onto another technique's slug is refused the same way.
    let onto_retrospect = TechniqueInput {
        slug: "retrospect",
        ..input
    };
    let taken = app
        .store
        .update_technique("lessons-log", &onto_retrospect)
        .await;
    assert!(
        matches!(taken, Err(TechniqueWriteError::SlugTaken)),
        "{taken:?}"
    );

    let missing = app.store.update_technique("no-such", &input).await;
    assert!(
        matches!(missing, Err(TechniqueWriteError::NotFound)),
        "{missing:?}"
    );

    // Moving to another phase puts it at the end of that phase, under its new slug.
    let moved = TechniqueInput {
        slug: "lessons-diary",
        phase: "during",
        ..input
    };
    let updated = app
        .store
        .update_technique("lessons-log", &moved)
        .await
        .expect("updated");
    assert_eq!((updated.phase.as_str(), updated.position), ("during", 8));
    assert!(app
        .store
        .find_technique_by_slug("lessons-log")
        .await
        .unwrap()
        .is_none());
    let (status, list) = app.get_json("/api/v1/techniques?phase=during").await;
    assert_eq!(status, 200);
    assert_eq!(
        slugs(&list, "techniques").last().map(String::as_str),
        Some("lessons-diary")
    );
    let (status, json) = app.get_json("/api/v1/techniques/lessons-diary").await;
    assert_eq!(status, 200);
    assert_eq!(json["is_builtin"], false);
}

#[tokio::test]
async fn the_coffee_trials_page_lists_open_trials_only() {
    let app = spawn_app().await;
    let (status, html) = page(&app, "/techniques/randomised-coffee-trials").await;
    assert_eq!(status, 200);
    assert!(html.contains("There are no trials open for sign-up right now"));

    let now = "2026-01-05T09:00:00.000000Z";
    for (slug, name, open) in [
        ("lunch-pairs", "Lunch pairs", 1_i64),
        ("old-pairs", "Old pairs", 0),
    ] {
        sqlx::query(
            "INSERT INTO trials (slug, name, open_for_signup, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(slug)
        .bind(name)
        .bind(open)
        .bind(now)
        .execute(app.store.pool())
        .await
        .expect("trial inserted");
    }

    let (status, html) = page(&app, "/techniques/randomised-coffee-trials").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<a href="/t/lunch-pairs">Lunch pairs</a>"#));
    assert!(!html.contains("old-pairs") && !html.contains("Old pairs"));
    assert!(!html.contains("There are no trials open"));

    // Other techniques do not mention trials.
    let (_, html) = page(&app, "/techniques/retrospect").await;
    assert!(!html.contains("Join a trial"));
}
