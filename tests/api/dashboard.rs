//! The organiser dashboard and the exports, on a history whose figures are worked out by hand.
//!
//! Six people: A and B in Nursing, C and D in Pharmacy, E and F in Estates. Three published
//! rounds, arranged through the API's swaps:
//!
//! | round | groups          | answers                                                        |
//! |-------|-----------------|----------------------------------------------------------------|
//! | 1     | A+C, B+E, D+F   | A met (5), C met (4, shares a note); B some met (3, private note), E could not meet (1, not counted); D+F silent |
//! | 2     | A+B, C+F, D+E   | A met (2, shares a formula-like note), B met (shares an empty note); C, F not yet; D could not meet |
//! | 3     | A+C, B+D, E+F   | C met (4); E some met (5, shares only spaces); B+D silent      |
//!
//! So: round 1 met 2, did not 0, unknown 1, ratings 5+4+3 = 12 / 3 = 4.0;
//! round 2 met 1 (A+B), did not 2, unknown 0, 1 of 3 = 33%, rating 2.0;
//! round 3 met 2, did not 0, unknown 1, ratings 4+5 = 9 / 2 = 4.5.
//! Overall 5 of the 7 groups that answered met (71%); ratings 23 / 6 = 3.8.
//! Connections: A-C (met twice, counted once), B-E, A-B, E-F = 4; across departments A-C and
//! B-E = 2 of 4 = 50%. Heatmap: Nursing-Nursing 1, Nursing-Pharmacy 1, Nursing-Estates 1,
//! Pharmacy-Pharmacy 0, Pharmacy-Estates 0, Estates-Estates 1.
//! Afterwards F is paused and G signs up without confirming: 5 active, 1 paused, 1 pending.
use std::collections::HashMap;

use chrono::Utc;
use coffee_trials::insight::{self, RoundStats};
use coffee_trials::store::time::to_db;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

const SLUG: &str = "wards";

const PEOPLE: [(&str, &str, &str); 6] = [
    ("A", "Alice Archer", "Nursing"),
    ("B", "Bilal Brook", "Nursing"),
    ("C", "Chen Carter", "Pharmacy"),
    ("D", "Dora Dale", "Pharmacy"),
    ("E", "Emeka Eze", "Estates"),
    ("F", "Fern Ford", "Estates"),
];

const SHARED_NOTE: &str = "Learnt how the pharmacy audit works";
const FORMULA_NOTE: &str = "=1+2 <b>bold</b>";
const PRIVATE_NOTE: &str = "Private note from Bilal";

struct Fixture {
    app: TestApp,
    api: reqwest::Client,
    token: String,
    /// Letter -> public id.
    ids: HashMap<&'static str, String>,
}

impl Fixture {
    async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self
            .api
            .get(self.app.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json().await.expect("a JSON body"),
        )
    }

    async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .api
            .post(self.app.url(path))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json().await.expect("a JSON body"),
        )
    }

    fn id(&self, letter: &str) -> &str {
        &self.ids[letter]
    }
}

async fn organiser_with_trial() -> Fixture {
    let app = spawn_app().await;
    let token = app.organiser_token().await;
    let api = app.anonymous_client();
    let f = Fixture {
        app,
        api,
        token,
        ids: HashMap::new(),
    };
    let (status, _) = f
        .post_json(
            "/api/v1/trials",
            json!({"name": "Ward rounds", "slug": SLUG, "attribute_name": "Department",
                   "attribute_values": "Nursing\nPharmacy\nEstates"}),
        )
        .await;
    assert_eq!(status, 201);
    f
}

/// The public ids of each group of a round, in group order.
async fn groups(f: &Fixture, round: i64) -> Vec<Vec<String>> {
    let (status, view) = f
        .get_json(&format!("/api/v1/trials/{SLUG}/rounds/{round}"))
        .await;
    assert_eq!(status, 200);
    view["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            g["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["public_id"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

/// Proposes a round, swaps people until the groups are exactly `pairs`, and publishes it.
async fn round(f: &Fixture, number: i64, pairs: [(&str, &str); 3]) {
    let (status, proposed) = f
        .post_json(
            &format!("/api/v1/trials/{SLUG}/rounds"),
            json!({"seed": number}),
        )
        .await;
    assert_eq!(status, 201, "{proposed}");
    assert_eq!(proposed["round"]["number"], number);
    for (x, y) in pairs {
        let (x, y) = (f.id(x), f.id(y));
        let now = groups(f, number).await;
        let with_x = now.iter().find(|g| g.iter().any(|m| m == x)).unwrap();
        if with_x.iter().any(|m| m == y) {
            continue;
        }
        let partner = with_x.iter().find(|m| *m != x).unwrap().clone();
        let (status, body) = f
            .post_json(
                &format!("/api/v1/trials/{SLUG}/rounds/{number}/swap"),
                // The history repeats pairs on purpose: confirm the warning.
                json!({"a": partner, "b": y, "confirm": true}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let mut wanted: Vec<Vec<String>> = pairs
        .iter()
        .map(|(x, y)| {
            let mut g = vec![f.id(x).to_string(), f.id(y).to_string()];
            g.sort();
            g
        })
        .collect();
    wanted.sort();
    let mut got: Vec<Vec<String>> = groups(f, number)
        .await
        .into_iter()
        .map(|mut g| {
            g.sort();
            g
        })
        .collect();
    got.sort();
    assert_eq!(got, wanted, "round {number} is arranged as planned");
    let (status, _) = f
        .post_json(
            &format!("/api/v1/trials/{SLUG}/rounds/{number}/publish"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
}

/// Test set-up: writes one member's answer about their group straight into the table that the
/// feedback pages fill.
async fn answer(
    f: &Fixture,
    round: i64,
    who: &str,
    outcome: &str,
    rating: Option<i64>,
    takeaway: &str,
    share: bool,
) {
    let pool = f.app.store.pool();
    let (group_id,): (i64,) = sqlx::query_as(
        "SELECT g.id FROM round_groups g JOIN rounds r ON r.id = g.round_id \
         JOIN trials t ON t.id = r.trial_id JOIN round_group_members gm ON gm.group_id = g.id \
         JOIN memberships m ON m.id = gm.membership_id \
         WHERE t.slug = $1 AND r.number = $2 AND m.public_id = $3",
    )
    .bind(SLUG)
    .bind(round)
    .bind(f.id(who))
    .fetch_one(pool)
    .await
    .unwrap();
    let (membership_id,): (i64,) =
        sqlx::query_as("SELECT id FROM memberships WHERE public_id = $1")
            .bind(f.id(who))
            .fetch_one(pool)
            .await
            .unwrap();
    sqlx::query(
        "INSERT INTO feedback (group_id, membership_id, outcome, rating, takeaway, share_consent, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(group_id)
    .bind(membership_id)
    .bind(outcome)
    .bind(rating)
    .bind(takeaway)
    .bind(i64::from(share))
    .bind(to_db(Utc::now()))
    .execute(pool)
    .await
    .unwrap();
}

/// The history described at the top of this file.
async fn known_history() -> Fixture {
    let mut f = organiser_with_trial().await;
    for (letter, name, department) in PEOPLE {
        let email = format!("{}@example.org", letter.to_lowercase());
        let (status, person) = f
            .post_json(
                &format!("/api/v1/trials/{SLUG}/participants"),
                json!({"name": name, "email": email, "attribute_value": department, "consent": true}),
            )
            .await;
        assert_eq!(status, 201, "{person}");
        f.ids
            .insert(letter, person["id"].as_str().unwrap().to_string());
    }
    round(&f, 1, [("A", "C"), ("B", "E"), ("D", "F")]).await;
    round(&f, 2, [("A", "B"), ("C", "F"), ("D", "E")]).await;
    round(&f, 3, [("A", "C"), ("B", "D"), ("E", "F")]).await;

    answer(&f, 1, "A", "met", Some(5), "", false).await;
    answer(&f, 1, "C", "met", Some(4), SHARED_NOTE, true).await;
    answer(&f, 1, "B", "some_met", Some(3), PRIVATE_NOTE, false).await;
    // A rating given with "could not meet" is not about a conversation: it counts nowhere.
    answer(&f, 1, "E", "could_not_meet", Some(1), "", false).await;
    answer(&f, 2, "A", "met", Some(2), FORMULA_NOTE, true).await;
    answer(&f, 2, "B", "met", None, "", true).await;
    answer(&f, 2, "C", "not_yet", None, "", false).await;
    answer(&f, 2, "F", "not_yet", None, "", false).await;
    answer(&f, 2, "D", "could_not_meet", None, "", false).await;
    answer(&f, 3, "C", "met", Some(4), "", false).await;
    answer(&f, 3, "E", "some_met", Some(5), "   ", true).await;

    let (status, _) = f
        .post_json(
            &format!("/api/v1/trials/{SLUG}/participants/{}/pause", f.id("F")),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = f
        .post_json(
            &format!("/api/v1/trials/{SLUG}/participants"),
            json!({"name": "Gita Gray", "email": "g@example.org", "attribute_value": "Estates"}),
        )
        .await;
    assert_eq!(status, 201);
    f
}

fn round_stats(
    number: i64,
    met: i64,
    did_not_meet: i64,
    unknown: i64,
    ratings: &[i64],
) -> RoundStats {
    RoundStats {
        number,
        groups: 3,
        met,
        did_not_meet,
        unknown,
        ratings: ratings.len() as i64,
        rating_sum: ratings.iter().sum(),
    }
}

#[tokio::test]
async fn statistics_on_a_known_history() {
    let f = known_history().await;
    let trial = f.app.store.find_trial(SLUG).await.unwrap().unwrap();
    let history = f.app.store.insight_history(&trial).await.unwrap();
    let s = insight::compute(&history);

    assert_eq!(
        (s.people.active, s.people.paused, s.people.pending),
        (5, 1, 1)
    );
    assert_eq!(s.draft_rounds, 0);
    assert_eq!(
        s.rounds,
        [
            round_stats(1, 2, 0, 1, &[5, 4, 3]),
            round_stats(2, 1, 2, 0, &[2]),
            round_stats(3, 2, 0, 1, &[4, 5]),
        ]
    );
    assert_eq!(s.rounds[1].met_share(), Some(1.0 / 3.0));
    assert_eq!(s.rounds[2].average_rating(), Some(4.5));
    let totals = s.totals();
    assert_eq!((totals.met, totals.answered(), totals.unknown), (5, 7, 2));
    assert_eq!(s.average_rating(), Some(23.0 / 6.0));
    assert_eq!(s.connections, 4);
    assert_eq!(s.cross_connections, 2);
    assert_eq!(s.cross_share(), Some(0.5));

    assert_eq!(s.heatmap.values, ["Nursing", "Pharmacy", "Estates"]);
    assert_eq!(s.heatmap.counts, [[1, 1, 1], [1, 0, 0], [1, 0, 1]]);

    let notes: Vec<(i64, &str)> = s
        .takeaways
        .iter()
        .map(|t| (t.round, t.text.as_str()))
        .collect();
    assert_eq!(notes, [(2, FORMULA_NOTE), (1, SHARED_NOTE)]);
}

/// The text of the first `<dd>` after the element with this id.
fn stat<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("{id} is on the page"));
    let rest = &html[at..];
    let start = rest.find("<dd").unwrap();
    let start = start + rest[start..].find('>').unwrap() + 1;
    let end = start + rest[start..].find("</dd>").unwrap();
    rest[start..end].trim()
}

#[tokio::test]
async fn the_dashboard_shows_the_figures_charts_and_only_shared_takeaways() {
    let f = known_history().await;
    let response = f.app.get(&format!("/admin/trials/{SLUG}/dashboard")).await;
    assert_eq!(response.status().as_u16(), 200);
    let html = response.text().await.unwrap();

    assert_eq!(stat(&html, "stat-active"), "5");
    assert_eq!(stat(&html, "stat-paused"), "1");
    assert_eq!(stat(&html, "stat-pending"), "1");
    assert_eq!(stat(&html, "stat-rounds"), "3");
    assert_eq!(stat(&html, "stat-met"), "71%");
    assert_eq!(stat(&html, "stat-rating"), "3.8");
    assert_eq!(stat(&html, "stat-connections"), "4");
    assert_eq!(stat(&html, "stat-cross"), "50%");
    for row in [
        "<tr id=\"round-1\"><th scope=\"row\">Round 1</th><td>3</td><td>2</td><td>0</td><td>1</td><td>100%</td><td>4.0</td></tr>",
        "<tr id=\"round-2\"><th scope=\"row\">Round 2</th><td>3</td><td>1</td><td>2</td><td>0</td><td>33%</td><td>2.0</td></tr>",
        "<tr id=\"round-3\"><th scope=\"row\">Round 3</th><td>3</td><td>2</td><td>0</td><td>1</td><td>100%</td><td>4.5</td></tr>",
    ] {
        assert!(html.contains(row), "{row}");
    }
    assert!(html.contains("2 of 4 connections (50%) joined people with a different Department"));
    assert!(
        html.contains("at least one of its members answered"),
        "the page says how it counts"
    );

    // Three server-drawn charts, each named for screen readers, with the values as text.
    assert_eq!(html.matches("<svg").count(), 3);
    assert_eq!(html.matches("role=\"img\" aria-labelledby=").count(), 3);
    assert!(html.contains("<title id=\"chart-meetings-title\">Groups that met, by round</title>"));
    assert!(html.contains("1 met, 2 did not, 0 no answer (33% met)"));
    assert!(html.contains(">4.5 (2 ratings)</text>"));
    assert!(html.contains("<title id=\"chart-heatmap-title\">Who met whom, by Department</title>"));
    assert!(html.contains("Nursing and Estates: 1 connection"));
    assert!(html.contains("Pharmacy and Estates: 0 connections"));
    assert!(!html.contains("<script"), "no scripts");
    assert!(!html.contains("NaN"));

    // Takeaways: only those shared, escaped, and nobody's name anywhere on the page.
    assert!(html.contains(SHARED_NOTE));
    assert!(html.contains("=1+2 &#60;b&#62;bold&#60;/b&#62;"));
    assert!(!html.contains("<b>bold</b>"));
    assert!(!html.contains(PRIVATE_NOTE));
    for (_, name, _) in PEOPLE {
        assert!(!html.contains(name), "{name} is not shown");
    }

    // The exports are linked from the page, and the rounds page links here.
    for link in ["participants.csv", "pairings.csv", "feedback.csv"] {
        assert!(html.contains(&format!("href=\"/admin/trials/{SLUG}/{link}\"")));
    }
    let rounds = f
        .app
        .get_html(&format!("/admin/trials/{SLUG}/rounds"))
        .await;
    assert!(rounds.contains(&format!("href=\"/admin/trials/{SLUG}/dashboard\"")));
}

/// What a spreadsheet-safe cell looks like: written independently of the service's guard.
fn guarded(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn csv_rows(f: &Fixture, path: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let response = f.app.get(path).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let body = response.bytes().await.unwrap();
    assert!(body.windows(2).any(|w| w == b"\r\n"), "CRLF line ends");
    // A byte-order mark first, so that Excel reads the file as UTF-8.
    let body = body
        .strip_prefix(b"\xEF\xBB\xBF")
        .expect("the file starts with a UTF-8 byte-order mark");
    let mut reader = csv::Reader::from_reader(body);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[tokio::test]
async fn csv_exports_parse_back_to_the_json_exports() {
    let f = known_history().await;

    let (header, rows) = csv_rows(&f, &format!("/admin/trials/{SLUG}/pairings.csv")).await;
    assert_eq!(
        header,
        [
            "round",
            "published_at",
            "group",
            "table",
            "id",
            "name",
            "Department"
        ]
    );
    let (status, json) = f.get_json(&format!("/api/v1/trials/{SLUG}/pairings")).await;
    assert_eq!(status, 200);
    let pairings = json["pairings"].as_array().unwrap();
    assert_eq!(pairings.len(), 18, "3 rounds of 6 people");
    assert_eq!(rows.len(), pairings.len());
    for (row, p) in rows.iter().zip(pairings) {
        let expected: Vec<String> = [
            "round",
            "published_at",
            "group",
            "table",
            "id",
            "name",
            "attribute_value",
        ]
        .iter()
        .map(|k| guarded(&text(&p[*k])))
        .collect();
        assert_eq!(row, &expected);
    }
    // Round 1, group by group: A+C, B+E, D+F in some order; each group's people share it.
    let round_one: Vec<&Value> = pairings.iter().filter(|p| p["round"] == 1).collect();
    assert_eq!(round_one.len(), 6);
    let group_of = |letter: &str| {
        round_one
            .iter()
            .find(|p| p["id"] == f.id(letter))
            .map(|p| p["group"].clone())
            .unwrap()
    };
    assert_eq!(group_of("A"), group_of("C"));
    assert_ne!(group_of("A"), group_of("B"));
    let alice = round_one.iter().find(|p| p["id"] == f.id("A")).unwrap();
    assert_eq!(alice["name"], "Alice Archer");
    assert_eq!(alice["attribute_value"], "Nursing");
    assert!(alice["published_at"].as_str().unwrap().starts_with("20"));

    let (header, rows) = csv_rows(&f, &format!("/admin/trials/{SLUG}/feedback.csv")).await;
    assert_eq!(
        header,
        [
            "round",
            "group",
            "id",
            "name",
            "outcome",
            "rating",
            "takeaway",
            "answered_at"
        ]
    );
    let (status, json) = f.get_json(&format!("/api/v1/trials/{SLUG}/feedback")).await;
    assert_eq!(status, 200);
    let answers = json["feedback"].as_array().unwrap();
    assert_eq!(answers.len(), 11);
    assert_eq!(rows.len(), answers.len());
    for (row, a) in rows.iter().zip(answers) {
        let expected: Vec<String> = [
            "round",
            "group",
            "id",
            "name",
            "outcome",
            "rating",
            "takeaway",
            "answered_at",
        ]
        .iter()
        .map(|k| guarded(&text(&a[*k])))
        .collect();
        assert_eq!(row, &expected);
    }
    // The formula guard shows in the CSV, not in the JSON.
    assert!(rows.iter().any(|r| r[6] == format!("'{FORMULA_NOTE}")));
    assert!(answers.iter().any(|a| a["takeaway"] == FORMULA_NOTE));
    // A note without consent is in neither.
    let bilal_round_one = answers
        .iter()
        .find(|a| a["round"] == 1 && a["id"] == f.id("B"))
        .unwrap();
    assert_eq!(bilal_round_one["outcome"], "some_met");
    assert_eq!(bilal_round_one["rating"], 3);
    assert_eq!(bilal_round_one["takeaway"], "");
    assert!(!serde_json::to_string(&json)
        .unwrap()
        .contains("Private note"));
    assert!(rows.iter().all(|r| !r[6].contains("Private note")));
    let no_rating = answers
        .iter()
        .find(|a| a["round"] == 2 && a["id"] == f.id("B"))
        .unwrap();
    assert_eq!(no_rating["rating"], Value::Null);

    // The participants' export already existed: its CSV and JSON name the same people.
    let (_, rows) = csv_rows(&f, &format!("/admin/trials/{SLUG}/participants.csv")).await;
    let (_, json) = f
        .get_json(&format!("/api/v1/trials/{SLUG}/participants"))
        .await;
    let mut from_csv: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    let mut from_json: Vec<String> = json["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| text(&p["id"]))
        .collect();
    from_csv.sort();
    from_json.sort();
    assert_eq!(from_csv.len(), 7);
    assert_eq!(from_csv, from_json);
}

#[tokio::test]
async fn an_empty_trial_has_a_friendly_page_and_empty_exports() {
    let f = organiser_with_trial().await;
    let response = f.app.get(&format!("/admin/trials/{SLUG}/dashboard")).await;
    assert_eq!(response.status().as_u16(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"empty\""));
    assert!(html.contains("No round of this trial has been published"));
    assert_eq!(stat(&html, "stat-active"), "0");
    assert_eq!(stat(&html, "stat-rounds"), "0");
    assert!(!html.contains("<svg"));
    assert!(!html.contains("NaN"));

    let (header, rows) = csv_rows(&f, &format!("/admin/trials/{SLUG}/pairings.csv")).await;
    assert_eq!(header.len(), 7);
    assert!(rows.is_empty());
    let (_, rows) = csv_rows(&f, &format!("/admin/trials/{SLUG}/feedback.csv")).await;
    assert!(rows.is_empty());
    assert_eq!(
        f.get_json(&format!("/api/v1/trials/{SLUG}/pairings")).await,
        (200, json!({"pairings": []}))
    );
    assert_eq!(
        f.get_json(&format!("/api/v1/trials/{SLUG}/feedback")).await,
        (200, json!({"feedback": []}))
    );

    // A draft round is not history yet.
    let (status, _) = f
        .post_json(&format!("/api/v1/trials/{SLUG}/rounds"), json!({}))
        .await;
    assert_eq!(status, 201);
    let html = f
        .app
        .get_html(&format!("/admin/trials/{SLUG}/dashboard"))
        .await;
    assert!(html.contains("id=\"empty\""));
    assert!(html.contains("and 1 draft not yet published"));
}

#[tokio::test]
async fn strangers_are_refused_and_unknown_trials_are_404() {
    let f = organiser_with_trial().await;
    let stranger = f.app.anonymous_client();
    for path in ["dashboard", "pairings.csv", "feedback.csv"] {
        let response = stranger
            .get(f.app.url(&format!("/admin/trials/{SLUG}/{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "{path}");
        assert!(response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/admin/login"));
    }
    for path in ["pairings", "feedback"] {
        let response = stranger
            .get(f.app.url(&format!("/api/v1/trials/{SLUG}/{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "{path}");
        let wrong_token = stranger
            .get(f.app.url(&format!("/api/v1/trials/{SLUG}/{path}")))
            .bearer_auth("0".repeat(64))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_token.status().as_u16(), 401, "{path}");
        assert_eq!(
            f.get_json(&format!("/api/v1/trials/nowhere/{path}")).await,
            (404, json!({"error": "no such trial", "field": null}))
        );
    }
    assert_eq!(
        f.app
            .get("/admin/trials/nowhere/dashboard")
            .await
            .status()
            .as_u16(),
        404
    );
}
