//! The dashboard's figures are kept in memory per trial (speed is measured by
//! `cargo bench --bench dashboard`, never timed here). What these check: every change the
//! figures depend on moves the trial's version in the same transaction, so the page is never
//! stale, whichever way the change was written; and the counts of people are always current.
use chrono::Utc;
use coffee_trials::app::dashboard::{self, stats, DashboardCache, FIGURES_FORMAT};
use coffee_trials::domain::MembershipState;
use coffee_trials::insight::{self, Stats};
use coffee_trials::store::insight::StoredRoundFigures;
use coffee_trials::store::rounds::Round;
use coffee_trials::store::trials::Trial;

use crate::builders::{PersonBuilder, RoundBuilder, TrialBuilder};
use crate::helpers::{spawn_app, TestApp};

const SLUG: &str = "cached";

/// The text of the first `<dd>` after the element with this id.
fn stat(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("{id} is on the page"));
    let rest = &html[at..];
    let start = rest.find("<dd").unwrap();
    let start = start + rest[start..].find('>').unwrap() + 1;
    let end = start + rest[start..].find("</dd>").unwrap();
    rest[start..end].trim().to_string()
}

async fn dashboard(app: &TestApp) -> String {
    app.get_html(&format!("/admin/trials/{SLUG}/dashboard"))
        .await
}

struct Fixture {
    app: TestApp,
    trial: Trial,
    people: Vec<i64>,
}

/// Four active people, two departments, signed-in organiser.
async fn fixture() -> Fixture {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = TrialBuilder::new(SLUG)
        .attribute_values("Nursing\nPharmacy")
        .create(&app.store)
        .await;
    let mut people = Vec::new();
    for (i, department) in ["Nursing", "Pharmacy", "Nursing", "Pharmacy"]
        .into_iter()
        .enumerate()
    {
        let person = PersonBuilder::new(&format!("Person {i}"), &format!("p{i}@example.org"))
            .attribute(department)
            .add_to(&app.store, &trial)
            .await;
        people.push(person.membership_id);
    }
    Fixture { app, trial, people }
}

/// The group ids of a round, by position.
async fn groups(app: &TestApp, round_id: i64) -> Vec<i64> {
    let mut ids: Vec<(i64, i64)> = app
        .store
        .round_members(round_id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.position, m.group_id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter().map(|(_, id)| id).collect()
}

#[tokio::test]
async fn the_cached_dashboard_follows_every_change_it_depends_on() {
    let f = fixture().await;
    let (app, p) = (&f.app, &f.people);
    let v0 = app.store.trial_version(f.trial.id).await.unwrap();

    // A published round: Nursing-Pharmacy twice.
    let round = RoundBuilder::new()
        .group(&[p[0], p[1]])
        .group(&[p[2], p[3]])
        .published()
        .create(&app.store, &f.trial)
        .await;
    let v1 = app.store.trial_version(f.trial.id).await.unwrap();
    assert!(v1 > v0, "creating and publishing a round moves the version");
    let html = dashboard(app).await;
    assert_eq!(stat(&html, "stat-rounds"), "1");
    assert_eq!(stat(&html, "stat-connections"), "0");
    // Shown again from memory, unchanged.
    assert_eq!(stat(&dashboard(app).await, "stat-rounds"), "1");

    // An answer, written as the feedback page writes it.
    let g = groups(app, round.id).await;
    app.store
        .upsert_feedback_answer(g[0], p[0], "met", Utc::now())
        .await
        .unwrap();
    let v2 = app.store.trial_version(f.trial.id).await.unwrap();
    assert!(v2 > v1, "an answer moves the version");
    let html = dashboard(app).await;
    assert_eq!(stat(&html, "stat-connections"), "1");
    assert_eq!(stat(&html, "stat-cross"), "100%");

    // The same answer changed (the upsert's update path) to "not yet": no connection.
    app.store
        .upsert_feedback_answer(g[0], p[0], "not_yet", Utc::now())
        .await
        .unwrap();
    let v3 = app.store.trial_version(f.trial.id).await.unwrap();
    assert!(v3 > v2, "a changed answer moves the version");
    assert_eq!(stat(&dashboard(app).await, "stat-connections"), "0");

    // Back to "met", then a member moves department: the connection is now within one.
    app.store
        .upsert_feedback_answer(g[0], p[0], "met", Utc::now())
        .await
        .unwrap();
    assert_eq!(stat(&dashboard(app).await, "stat-cross"), "100%");
    let member = app.store.find_member_by_id(p[1]).await.unwrap().unwrap();
    let moved = PersonBuilder::new("Person 1", "p1@example.org")
        .attribute("Nursing")
        .details(&f.trial);
    app.store
        .update_member_details(&member, &moved, Utc::now())
        .await
        .unwrap();
    let v4 = app.store.trial_version(f.trial.id).await.unwrap();
    assert!(v4 > v3, "a changed grouping value moves the version");
    assert_eq!(stat(&dashboard(app).await, "stat-cross"), "0%");

    // A draft round shows up as a draft; nothing else moves.
    RoundBuilder::new()
        .group(&[p[0], p[2]])
        .create(&app.store, &f.trial)
        .await;
    let html = dashboard(app).await;
    assert_eq!(stat(&html, "stat-rounds"), "1");
    assert!(html.contains("and 1 draft not yet published"));
}

#[tokio::test]
async fn the_counts_of_people_are_current_without_a_new_version() {
    let f = fixture().await;
    let app = &f.app;
    let before = dashboard(app).await;
    assert_eq!(stat(&before, "stat-active"), "4");
    assert_eq!(stat(&before, "stat-pending"), "0");
    let version = app.store.trial_version(f.trial.id).await.unwrap();
    PersonBuilder::new("Newcomer", "new@example.org")
        .attribute("Nursing")
        .state(MembershipState::Pending)
        .add_to(&app.store, &f.trial)
        .await;
    assert_eq!(
        app.store.trial_version(f.trial.id).await.unwrap(),
        version,
        "a sign-up does not make the figures be computed again"
    );
    let after = dashboard(app).await;
    assert_eq!(stat(&after, "stat-pending"), "1");
    assert_eq!(stat(&after, "stat-active"), "4");
}

#[tokio::test]
async fn versions_belong_to_one_trial() {
    let f = fixture().await;
    let app = &f.app;
    let other = TrialBuilder::new("other").create(&app.store).await;
    let mine = app.store.trial_version(f.trial.id).await.unwrap();
    let theirs = app.store.trial_version(other.id).await.unwrap();
    let person = PersonBuilder::new("Other", "other@example.org")
        .add_to(&app.store, &other)
        .await;
    let second = PersonBuilder::new("Second", "second@example.org")
        .add_to(&app.store, &other)
        .await;
    RoundBuilder::new()
        .group(&[person.membership_id, second.membership_id])
        .published()
        .create(&app.store, &other)
        .await;
    assert_eq!(app.store.trial_version(f.trial.id).await.unwrap(), mine);
    assert!(app.store.trial_version(other.id).await.unwrap() > theirs);
}

/// The figures computed from the trial's whole history at once, with no cache of any kind.
async fn from_scratch(app: &TestApp, trial: &Trial) -> Stats {
    let history = dashboard::history(&app.store, trial).await.unwrap();
    insight::compute(&history)
}

/// A published round of the fixture's trial with these groups.
async fn published(app: &TestApp, trial: &Trial, groups: &[&[i64]]) -> Round {
    let mut round = RoundBuilder::new();
    for group in groups {
        round = round.group(group);
    }
    round.published().create(&app.store, trial).await
}

/// The figures as the first view of a restarted service sees them: nothing in memory.
async fn view_after_restart(app: &TestApp, trial: &Trial) -> Stats {
    stats(&app.store, &DashboardCache::new(), trial)
        .await
        .unwrap()
}

/// The version of each round's figures, by round number.
async fn round_versions(app: &TestApp, trial: &Trial) -> Vec<(i64, i64)> {
    app.store
        .round_versions(trial.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.number, r.version))
        .collect()
}

#[tokio::test]
async fn an_answer_recomputes_its_own_round_and_the_sum_matches_a_fresh_computation() {
    let f = fixture().await;
    let (app, p) = (&f.app, &f.people);
    let first = published(app, &f.trial, &[&[p[0], p[1]], &[p[2], p[3]]]).await;
    let second = published(app, &f.trial, &[&[p[0], p[2], p[3]], &[p[1]]]).await;
    let cache = DashboardCache::new();
    stats(&app.store, &cache, &f.trial).await.unwrap();

    let before = round_versions(app, &f.trial).await;
    let g2 = groups(app, second.id).await;
    app.store
        .upsert_feedback_answer(g2[0], p[2], "some_met", Utc::now())
        .await
        .unwrap();
    let after = round_versions(app, &f.trial).await;
    assert_eq!(after[0], before[0], "round 1's figures stay as they were");
    assert!(after[1].1 > before[1].1, "round 2's version moves");

    // Changes to both rounds, each followed by a view through the same cache, which
    // recomputes only the rounds that moved; each time the sum must equal the figures
    // computed from the whole history at once.
    let g1 = groups(app, first.id).await;
    let steps: Vec<(i64, i64, &str)> = vec![
        (g1[0], p[0], "met"),
        (g2[0], p[0], "met"),
        (g1[1], p[3], "could_not_meet"),
        (g2[0], p[0], "not_yet"),
        (g1[1], p[3], "met"),
    ];
    for (group, who, outcome) in steps {
        app.store
            .upsert_feedback_answer(group, who, outcome, Utc::now())
            .await
            .unwrap();
        let kept = stats(&app.store, &cache, &f.trial).await.unwrap();
        assert_eq!(
            kept,
            from_scratch(app, &f.trial).await,
            "after {outcome} in group {group}"
        );
    }
    let last = stats(&app.store, &cache, &f.trial).await.unwrap();
    // Round 1: 0-1 and 2-3 met; round 2: "some met" without named pairs adds nothing.
    assert_eq!(last.connections, 2);
    assert_eq!(last.rounds.len(), 2);
}

/// Rewrites a round's stored figures, as a damaged or foreign row would look.
async fn overwrite_stored_figures(app: &TestApp, round_id: i64, format: i64, part: &str) {
    sqlx::query("UPDATE round_figures SET format = $1, part = $2 WHERE round_id = $3")
        .bind(format)
        .bind(part)
        .bind(round_id)
        .execute(app.store.pool())
        .await
        .unwrap();
}

async fn current_round_version(app: &TestApp, trial: &Trial, round_id: i64) -> i64 {
    let rounds = app.store.round_versions(trial.id).await.unwrap();
    rounds.iter().find(|r| r.id == round_id).unwrap().version
}

#[tokio::test]
async fn a_restart_reads_each_rounds_figures_back_but_never_stale_or_unreadable_ones() {
    let f = fixture().await;
    let (app, p) = (&f.app, &f.people);
    let first = published(app, &f.trial, &[&[p[0], p[1]], &[p[2], p[3]]]).await;
    let second = published(app, &f.trial, &[&[p[0], p[3]], &[p[1], p[2]]]).await;
    let g1 = groups(app, first.id).await;
    let g2 = groups(app, second.id).await;
    for (group, who) in [(g1[0], p[0]), (g2[1], p[2])] {
        app.store
            .upsert_feedback_answer(group, who, "met", Utc::now())
            .await
            .unwrap();
    }
    let truth = from_scratch(app, &f.trial).await;
    assert_eq!(truth.connections, 2);

    // The first view stores each round's part under the round's current version.
    let viewed = view_after_restart(app, &f.trial).await;
    assert_eq!(viewed, truth);
    for round in [&first, &second] {
        let stored = app.store.stored_round_figures(round.id).await.unwrap();
        let stored = stored.expect("a viewed round's figures are stored");
        assert_eq!(
            stored.version,
            current_round_version(app, &f.trial, round.id).await
        );
        assert_eq!(stored.format, FIGURES_FORMAT);
    }

    // A restart (a new, empty cache) reads the stored parts back instead of computing them:
    // a stored part altered by hand shows through.
    let stored = app.store.stored_round_figures(first.id).await.unwrap();
    let mut part: serde_json::Value = serde_json::from_str(&stored.unwrap().part).unwrap();
    part["stats"]["groups"] = serde_json::json!(99);
    overwrite_stored_figures(app, first.id, FIGURES_FORMAT, &part.to_string()).await;
    let restarted = view_after_restart(app, &f.trial).await;
    assert_eq!(restarted.rounds[0].groups, 99);
    assert_eq!(restarted.rounds[1], truth.rounds[1]);

    // An answer about round 1 deletes its stored part in the same transaction; the next
    // restart computes it afresh and stores it under the new version.
    app.store
        .upsert_feedback_answer(g1[1], p[3], "could_not_meet", Utc::now())
        .await
        .unwrap();
    assert_eq!(
        app.store.stored_round_figures(first.id).await.unwrap(),
        None
    );
    let truth = from_scratch(app, &f.trial).await;
    assert_eq!(truth.rounds[0].did_not_meet, 1);
    let restarted = view_after_restart(app, &f.trial).await;
    assert_eq!(restarted, truth);
    let stored = app.store.stored_round_figures(first.id).await.unwrap();
    assert_eq!(
        stored.map(|s| s.version),
        Some(current_round_version(app, &f.trial, first.id).await)
    );

    // A part of another format, or one that cannot be read, is computed afresh and replaced.
    for (format, text) in [(FIGURES_FORMAT + 1, "{}"), (FIGURES_FORMAT, "{not json")] {
        overwrite_stored_figures(app, second.id, format, text).await;
        let restarted = view_after_restart(app, &f.trial).await;
        assert_eq!(
            restarted, truth,
            "with a stored part of format {format}: {text}"
        );
        let stored = app.store.stored_round_figures(second.id).await.unwrap();
        let stored = stored.expect("stored again");
        assert_eq!(stored.format, FIGURES_FORMAT);
        serde_json::from_str::<insight::RoundPart>(&stored.part).unwrap();
    }
}

#[tokio::test]
async fn figures_are_stored_only_under_the_rounds_current_version_and_go_with_the_round() {
    let f = fixture().await;
    let (app, p) = (&f.app, &f.people);
    let round = published(app, &f.trial, &[&[p[0], p[1]]]).await;
    let figures = |version: i64| StoredRoundFigures {
        round_id: round.id,
        version,
        format: FIGURES_FORMAT,
        part: "{}".into(),
    };
    let before = current_round_version(app, &f.trial, round.id).await;
    // Figures computed before an answer arrived are refused once the answer is committed.
    let g = groups(app, round.id).await;
    app.store
        .upsert_feedback_answer(g[0], p[0], "met", Utc::now())
        .await
        .unwrap();
    let now = current_round_version(app, &f.trial, round.id).await;
    assert!(now > before);
    assert_eq!(
        app.store
            .save_round_figures(&[figures(before)])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        app.store.stored_round_figures(round.id).await.unwrap(),
        None
    );
    assert_eq!(
        app.store.save_round_figures(&[figures(now)]).await.unwrap(),
        1
    );
    assert_eq!(
        app.store.stored_round_figures(round.id).await.unwrap(),
        Some(figures(now))
    );

    // A discarded draft takes its stored figures with it.
    let draft = RoundBuilder::new()
        .group(&[p[2], p[3]])
        .create(&app.store, &f.trial)
        .await;
    let draft_version = current_round_version(app, &f.trial, draft.id).await;
    let stored = StoredRoundFigures {
        round_id: draft.id,
        ..figures(draft_version)
    };
    assert_eq!(app.store.save_round_figures(&[stored]).await.unwrap(), 1);
    assert!(app
        .store
        .delete_draft_round(draft.id, Utc::now())
        .await
        .unwrap());
    assert_eq!(
        app.store.stored_round_figures(draft.id).await.unwrap(),
        None
    );
    // A round that no longer exists is not stored at all.
    let gone = StoredRoundFigures {
        round_id: draft.id,
        ..figures(draft_version)
    };
    assert_eq!(app.store.save_round_figures(&[gone]).await.unwrap(), 0);
}
