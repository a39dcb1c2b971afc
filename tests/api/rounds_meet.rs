//! Rounds that people can act on: how each group can meet (from their own answers and the
//! trial's same-site rule), swaps that respect do-not-pair lists and ask before making a group
//! that cannot meet or a repeat, one shared calendar invitation per group with a first mover,
//! the midway nudge, and the pre-round notice for people who confirm late.
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::BufReader;

use chrono::{DateTime, Duration, Utc};
use coffee_trials::app::participants;
use coffee_trials::domain::{MembershipState, Nudge, RoundSettings, TrialInput};
use coffee_trials::store::rounds::Round;
use coffee_trials::store::signup::LinkPurpose;
use coffee_trials::store::trials::Trial;
use coffee_trials::store::Store;
use serde_json::{json, Value};

use crate::builders::{AddedPerson, PersonBuilder, RoundBuilder, TrialBuilder};
use crate::helpers::{spawn_app_with, spawn_app_without_loops, TestApp};
use crate::smtp_sink::SmtpSink;

/// An app whose emails go to a real SMTP server on loopback, with no background loops.
async fn app_with_sink() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(move |s| {
        s.background_loops = false;
        s.smtp_url = Some(url.parse().unwrap());
    })
    .await;
    (app, sink)
}

async fn api(app: &TestApp) -> (reqwest::Client, String) {
    (app.anonymous_client(), app.organiser_token().await)
}

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    token: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let response = client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, client: &reqwest::Client, token: &str, path: &str) -> Value {
    client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The groups of a round as sorted lists of public ids.
async fn groups_of(store: &Store, round: &Round) -> BTreeSet<Vec<String>> {
    let mut by_group: HashMap<i64, Vec<String>> = HashMap::new();
    for m in store.round_members(round.id).await.unwrap() {
        by_group.entry(m.group_id).or_default().push(m.public_id);
    }
    by_group
        .into_values()
        .map(|mut g| {
            g.sort();
            g
        })
        .collect()
}

fn person(name: &str) -> PersonBuilder {
    PersonBuilder::new(name, &format!("{}@example.org", name.to_lowercase()))
}

async fn say_do_not_pair(store: &Store, trial: &Trial, who: &AddedPerson, other: &AddedPerson) {
    let member = store
        .find_member(trial.id, &who.public_id)
        .await
        .unwrap()
        .unwrap();
    let saved = store
        .set_do_not_pair(&member, std::slice::from_ref(&other.public_id), Utc::now())
        .await
        .unwrap();
    assert_eq!(saved, 1);
}

#[tokio::test]
async fn a_swap_onto_a_do_not_pair_partner_is_refused_in_the_api_and_the_console() {
    let app = spawn_app_without_loops().await;
    let (client, token) = api(&app).await;
    let trial = TrialBuilder::new("apart").create(&app.store).await;
    let mut people = Vec::new();
    for name in ["Ann", "Ben", "Cat", "Dan"] {
        people.push(person(name).add_to(&app.store, &trial).await);
    }
    let [ann, ben, cat, dan] = [&people[0], &people[1], &people[2], &people[3]];
    say_do_not_pair(&app.store, &trial, cat, ann).await;
    let round = RoundBuilder::new()
        .group(&[ann.membership_id, ben.membership_id])
        .group(&[cat.membership_id, dan.membership_id])
        .create(&app.store, &trial)
        .await;
    let before = groups_of(&app.store, &round).await;

    // Ben for Cat would put Cat with Ann, whom Cat asked not to be paired with.
    let body = json!({"a": ben.public_id, "b": cat.public_id});
    let (status, answer) = post(
        &app,
        &client,
        &token,
        "/api/v1/trials/apart/rounds/1/swap",
        body,
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["field"], "b");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("asked not to be paired"));
    // Confirming does not override a do-not-pair list.
    let body = json!({"a": ben.public_id, "b": cat.public_id, "confirm": true});
    let (status, _) = post(
        &app,
        &client,
        &token,
        "/api/v1/trials/apart/rounds/1/swap",
        body,
    )
    .await;
    assert_eq!(status, 422);

    let page = app
        .submit(
            "/admin/trials/apart/rounds/1",
            "/admin/trials/apart/rounds/1/swap",
            &[
                ("a", &ben.public_id),
                ("b", &cat.public_id),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(page.status().as_u16(), 422);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"swap-error\""), "{html}");
    assert!(html.contains("asked not to be paired"));
    assert_eq!(
        groups_of(&app.store, &round).await,
        before,
        "nothing changed"
    );

    // A swap that keeps them apart goes through.
    let body = json!({"a": ben.public_id, "b": dan.public_id});
    let (status, view) = post(
        &app,
        &client,
        &token,
        "/api/v1/trials/apart/rounds/1/swap",
        body,
    )
    .await;
    assert_eq!(status, 200, "{view}");

    // A list written after the draft was drawn up shows as a conflict in the draft.
    say_do_not_pair(&app.store, &trial, ann, dan).await;
    let view = get(&app, &client, &token, "/api/v1/trials/apart/rounds/1").await;
    let flagged: Vec<&Value> = view["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| !g["do_not_pair_conflicts"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(flagged.len(), 1, "{view}");
    assert_eq!(flagged[0]["do_not_pair_conflicts"][0], "Ann and Dan");
    let html = app.get_html("/admin/trials/apart/rounds/1").await;
    assert!(html.contains("id=\"do-not-pair\""));
    assert!(html.contains("do not pair: Ann and Dan"));
}

#[tokio::test]
async fn a_swap_to_a_group_that_cannot_meet_or_a_repeat_waits_for_the_organiser_to_confirm() {
    let app = spawn_app_without_loops().await;
    let (client, token) = api(&app).await;
    let trial = TrialBuilder::new("confirm").create(&app.store).await;
    let north = |n: &str| person(n).modes(&["in_person"]).site("Royal Infirmary");
    let ann = north("Ann").add_to(&app.store, &trial).await;
    let ben = north("Ben").add_to(&app.store, &trial).await;
    let cat = person("Cat")
        .modes(&["video"])
        .add_to(&app.store, &trial)
        .await;
    let dan = person("Dan")
        .modes(&["video"])
        .add_to(&app.store, &trial)
        .await;
    let round = RoundBuilder::new()
        .group(&[ann.membership_id, ben.membership_id])
        .group(&[cat.membership_id, dan.membership_id])
        .create(&app.store, &trial)
        .await;
    let before = groups_of(&app.store, &round).await;

    // The draft says how each group can meet.
    let view = get(&app, &client, &token, "/api/v1/trials/confirm/rounds/1").await;
    let labels: HashSet<String> = view["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["how_to_meet_label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        labels,
        HashSet::from([
            "in person (both on site at Royal Infirmary)".to_string(),
            "video".to_string()
        ])
    );

    let swap = |confirm: bool| json!({"a": ben.public_id, "b": cat.public_id, "confirm": confirm});
    let (status, answer) = post(
        &app,
        &client,
        &token,
        "/api/v1/trials/confirm/rounds/1/swap",
        swap(false),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["field"], "confirm");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("in person only at Royal Infirmary, and video only"));
    assert_eq!(
        groups_of(&app.store, &round).await,
        before,
        "not without confirming"
    );

    // The console shows the warning with a button that sends the swap again, confirmed.
    let page = app
        .submit(
            "/admin/trials/confirm/rounds/1",
            "/admin/trials/confirm/rounds/1/swap",
            &[("a", &ben.public_id), ("b", &cat.public_id)],
        )
        .await;
    assert_eq!(page.status().as_u16(), 409);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"swap-warning\""));
    assert!(html.contains("name=\"confirm\""));
    assert_eq!(groups_of(&app.store, &round).await, before);
    let confirmed = app
        .submit(
            "/admin/trials/confirm/rounds/1",
            "/admin/trials/confirm/rounds/1/swap",
            &[
                ("a", &ben.public_id),
                ("b", &cat.public_id),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(confirmed.status().as_u16(), 303);
    assert_ne!(groups_of(&app.store, &round).await, before);
    let html = app.get_html("/admin/trials/confirm/rounds/1").await;
    assert!(html.contains("id=\"cannot-meet\""), "the draft flags them");
    assert!(html.contains("class=\"error cannot-meet\""));

    // Publish, then a new draft: swapping back into a pair that met asks first too.
    let (status, _) = post(
        &app,
        &client,
        &token,
        "/api/v1/trials/confirm/rounds/1/publish",
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    RoundBuilder::new()
        .group(&[ann.membership_id, ben.membership_id])
        .group(&[cat.membership_id, dan.membership_id])
        .create(&app.store, &trial)
        .await;
    // Round 1 ended as Ann+Cat and Ben+Dan: swapping Ben and Cat remakes both pairs.
    let (status, answer) = post(
        &app,
        &client,
        &token,
        "/api/v1/trials/confirm/rounds/2/swap",
        swap(false),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("have been paired before"));
    let (status, _) = post(
        &app,
        &client,
        &token,
        "/api/v1/trials/confirm/rounds/2/swap",
        swap(true),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_same_site_rule_decides_whether_a_site_left_blank_can_meet_in_person() {
    let app = spawn_app_without_loops().await;
    let (client, token) = api(&app).await;
    let trial = TrialBuilder::new("sites").create(&app.store).await;
    let ann = person("Ann")
        .modes(&["in_person"])
        .site("North")
        .add_to(&app.store, &trial)
        .await;
    let ben = person("Ben")
        .modes(&["in_person"])
        .add_to(&app.store, &trial)
        .await;
    RoundBuilder::new()
        .group(&[ann.membership_id, ben.membership_id])
        .create(&app.store, &trial)
        .await;
    let how = |view: &Value| view["groups"][0]["how_to_meet"]["can_meet"].clone();
    let view = get(&app, &client, &token, "/api/v1/trials/sites/rounds/1").await;
    assert_eq!(how(&view), "yes", "by default a blank site can meet anyone");

    // The option, set through the API, makes a blank site count for nothing.
    let mut body = serde_json::to_value(TrialInput {
        name: "sites".into(),
        slug: "sites".into(),
        ..Default::default()
    })
    .unwrap();
    body["same_site_only"] = json!(true);
    body["nudge"] = json!("half");
    let saved: Value = client
        .put(app.url("/api/v1/trials/sites"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["same_site_only"], true, "{saved}");
    assert_eq!(saved["nudge"], "half");
    assert_eq!(saved["slot_days"], "Mon,Tue,Wed,Thu,Fri");
    let settings = app.store.round_settings(trial.id).await.unwrap();
    assert!(settings.same_site_only);
    assert_eq!(settings.nudge, Nudge::Half);
    let view = get(&app, &client, &token, "/api/v1/trials/sites/rounds/1").await;
    assert_eq!(how(&view), "no", "{view}");

    // A bad value is refused with its field.
    body["slot_start"] = json!("noon");
    let refused = client
        .put(app.url("/api/v1/trials/sites"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["field"], "slot_start");

    // The console form shows and saves the settings too.
    let html = app.get_html("/admin/trials/sites").await;
    assert!(html.contains("name=\"same_site_only\" value=\"on\" checked"));
    let response = app
        .submit(
            "/admin/trials/sites",
            "/admin/trials/sites",
            &[
                ("name", "sites"),
                ("slug", "sites"),
                ("kind", "programme"),
                ("attribute_name", "Department"),
                ("group_size", "2"),
                ("time_zone", "UTC"),
                ("feedback_delay_days", "7"),
                ("notice_hours", "24"),
                ("slot_days", "Tue-Thu"),
                ("slot_start", "09:00"),
                ("slot_end", "12:00"),
                ("nudge", "elevenses"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"nudge-error\""));
    assert!(html.contains("value=\"Tue-Thu\""), "values are kept");
    let response = app
        .submit(
            "/admin/trials/sites",
            "/admin/trials/sites",
            &[
                ("name", "sites"),
                ("slug", "sites"),
                ("kind", "programme"),
                ("attribute_name", "Department"),
                ("group_size", "2"),
                ("time_zone", "UTC"),
                ("feedback_delay_days", "7"),
                ("notice_hours", "24"),
                ("slot_days", "Tue-Thu"),
                ("slot_start", "09:00"),
                ("slot_end", "12:00"),
                ("nudge", "3"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let settings = app.store.round_settings(trial.id).await.unwrap();
    assert!(!settings.same_site_only, "an unticked box turns it off");
    assert_eq!(settings.nudge, Nudge::Days(3));
    assert_eq!(settings.days.len(), 3);
}

/// Undoes quoted-printable (RFC 2045 6.7): soft line breaks and =XX octets.
fn unquote(text: &str) -> String {
    let bytes = text.replace("=\r\n", "").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).expect("=XX"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The calendar file inside a delivered message, as the recipient's mail program decodes it.
fn ics_of(data: &str) -> String {
    let part = data
        .split("\r\n--")
        .find(|p| {
            p.to_ascii_lowercase()
                .contains("content-type: text/calendar")
        })
        .expect("a calendar part");
    let (headers, body) = part.split_once("\r\n\r\n").expect("headers, then the body");
    let body = if headers
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: quoted-printable")
    {
        unquote(body)
    } else {
        body.to_string()
    };
    let start = body.find("BEGIN:VCALENDAR").expect("a calendar file");
    let end = body[start..].find("END:VCALENDAR\r\n").expect("its end") + start;
    body[start..end + "END:VCALENDAR\r\n".len()].to_string()
}

struct Parsed {
    method: String,
    uid: String,
    dtstart: String,
    organiser: String,
    attendees: BTreeSet<String>,
}

fn parse_ics(ics: &str) -> Parsed {
    if let Some(long) = ics.split("\r\n").find(|l| l.len() > 75) {
        panic!("lines are folded at 75 octets: {long:?} in\n{ics}");
    }
    assert!(
        !ics.replace("\r\n", "").contains('\n'),
        "every line ends in CRLF"
    );
    let mut calendars = ical::IcalParser::new(BufReader::new(ics.as_bytes()));
    let calendar = calendars.next().expect("one calendar").expect("it parses");
    assert!(calendars.next().is_none());
    let prop = |props: &[ical::property::Property], name: &str| -> Vec<String> {
        props
            .iter()
            .filter(|p| p.name == name)
            .map(|p| p.value.clone().unwrap_or_default())
            .collect()
    };
    assert_eq!(prop(&calendar.properties, "VERSION"), ["2.0"]);
    assert_eq!(calendar.events.len(), 1, "one event");
    let event = &calendar.events[0].properties;
    for required in [
        "UID",
        "DTSTAMP",
        "DTSTART",
        "DTEND",
        "SEQUENCE",
        "ORGANIZER",
    ] {
        assert_eq!(prop(event, required).len(), 1, "{required} once");
    }
    let address = |v: &str| {
        v.strip_prefix("mailto:")
            .expect("a mailto address")
            .to_string()
    };
    Parsed {
        method: prop(&calendar.properties, "METHOD").concat(),
        uid: prop(event, "UID").concat(),
        dtstart: prop(event, "DTSTART").concat(),
        organiser: address(&prop(event, "ORGANIZER").concat()),
        attendees: prop(event, "ATTENDEE").iter().map(|v| address(v)).collect(),
    }
}

#[tokio::test]
async fn each_group_shares_one_invitation_and_its_emails_say_how_to_meet_and_who_moves_first() {
    let (app, sink) = app_with_sink().await;
    let (client, token) = api(&app).await;
    let trial = TrialBuilder::new("invites")
        .with(|t| t.time_zone = "Europe/London".into())
        .create(&app.store)
        .await;
    let ann = person("Ann")
        .modes(&["in_person", "video"])
        .site("Royal Infirmary")
        .add_to(&app.store, &trial)
        .await;
    let ben = person("Ben")
        .modes(&["in_person"])
        .site("Royal Infirmary")
        .add_to(&app.store, &trial)
        .await;
    let cat = person("Cat").add_to(&app.store, &trial).await;
    let dan = person("Dan")
        .modes(&["phone"])
        .add_to(&app.store, &trial)
        .await;
    let eve = person("Eve")
        .modes(&["video", "phone"])
        .add_to(&app.store, &trial)
        .await;
    let groups = [vec![&ann, &ben, &cat], vec![&dan, &eve]];
    let mut builder = RoundBuilder::new();
    for g in &groups {
        builder = builder.group(&g.iter().map(|p| p.membership_id).collect::<Vec<_>>());
    }
    let round = builder.create(&app.store, &trial).await;
    let (status, published) = post(
        &app,
        &client,
        &token,
        "/api/v1/trials/invites/rounds/1/publish",
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["emails_queued"], 5);
    app.deliver_outbox().await;
    let received = sink.received();
    let names: HashMap<i64, &str> = HashMap::from([
        (ann.membership_id, "ann"),
        (ben.membership_id, "ben"),
        (cat.membership_id, "cat"),
        (dan.membership_id, "dan"),
        (eve.membership_id, "eve"),
    ]);
    let message_to = |name: &str| {
        received
            .iter()
            .find(|m| m.to == vec![format!("{name}@example.org")])
            .unwrap_or_else(|| panic!("a message to {name}"))
    };
    let organiser = app.settings.mail_from.email.to_string();
    let movers = app.store.first_movers(round.id).await.unwrap();
    let mut uids = HashSet::new();
    let mut starts = HashSet::new();
    for group in &groups {
        let members: BTreeSet<String> = group
            .iter()
            .map(|p| format!("{}@example.org", names[&p.membership_id]))
            .collect();
        let group_id = app
            .store
            .round_members(round.id)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.membership_id == group[0].membership_id)
            .unwrap()
            .group_id;
        let mover = movers[&group_id];
        assert!(group.iter().any(|p| p.membership_id == mover));
        let mover_name = names[&mover];
        let mut group_uids = HashSet::new();
        for p in group {
            let name = names[&p.membership_id];
            let message = message_to(name);
            assert!(
                message.data.to_ascii_lowercase().contains("method=request"),
                "the attachment is an invitation"
            );
            let ics = parse_ics(&ics_of(&message.data));
            assert_eq!(ics.method, "REQUEST");
            assert_eq!(ics.organiser, organiser, "the sender organises");
            assert_eq!(ics.attendees, members, "every member is invited");
            group_uids.insert(ics.uid.clone());
            starts.insert(ics.dtstart.clone());
            // The text says how they can meet and who moves first.
            let text = &message.data;
            assert!(text.contains("How you can meet:"), "{text}");
            let mover_title = format!("{}{}", mover_name[..1].to_uppercase(), &mover_name[1..]);
            if mover == p.membership_id {
                assert!(text.contains("you make the first move this round"));
            } else {
                assert!(text.contains(&format!("{mover_title} makes the first move")));
            }
        }
        assert_eq!(group_uids.len(), 1, "one UID in every member's file");
        uids.extend(group_uids);
    }
    assert_eq!(uids.len(), 2, "each group has its own event");
    assert_eq!(starts.len(), 2, "groups get different suggested times");
    let ann_text = &message_to("ann").data;
    assert!(ann_text.contains("in person (all on site at Royal Infirmary)"));
    let dan_text = &message_to("dan").data;
    assert!(dan_text.contains("How you can meet: phone."));

    // The same groups again: nobody moves first twice in a row.
    let again = RoundBuilder::new()
        .group(&[ann.membership_id, ben.membership_id, cat.membership_id])
        .group(&[dan.membership_id, eve.membership_id])
        .create(&app.store, &trial)
        .await;
    let (status, _) = post(
        &app,
        &client,
        &token,
        "/api/v1/trials/invites/rounds/2/publish",
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let first: HashSet<i64> = movers.values().copied().collect();
    let second: HashSet<i64> = app
        .store
        .first_movers(again.id)
        .await
        .unwrap()
        .values()
        .copied()
        .collect();
    assert_eq!(second.len(), 2);
    assert!(first.is_disjoint(&second), "{first:?} then {second:?}");
}

async fn member(
    store: &Store,
    trial: &Trial,
    p: &AddedPerson,
) -> coffee_trials::store::participants::Member {
    store
        .find_member(trial.id, &p.public_id)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn the_midway_nudge_goes_once_to_groups_that_have_not_met_and_never_to_those_who_answered_paused_or_left(
) {
    let app = spawn_app_without_loops().await;
    let trial = TrialBuilder::new("nudge")
        .with(|t| t.feedback_delay_days = "7".into())
        .create(&app.store)
        .await;
    app.store
        .save_round_settings(
            trial.id,
            &RoundSettings {
                nudge: Nudge::Half,
                ..RoundSettings::default()
            },
        )
        .await
        .unwrap();
    let mut p = Vec::new();
    for name in ["Ann", "Ben", "Cat", "Dan", "Eve", "Fay", "Gus", "Hal"] {
        p.push(person(name).add_to(&app.store, &trial).await);
    }
    let round = RoundBuilder::new()
        .group(&[p[0].membership_id, p[1].membership_id])
        .group(&[p[2].membership_id, p[3].membership_id])
        .group(&[p[4].membership_id, p[5].membership_id])
        .group(&[p[6].membership_id, p[7].membership_id])
        .published()
        .create(&app.store, &trial)
        .await;
    let published = Utc::now();
    let members = app.store.round_members(round.id).await.unwrap();
    let group_of = |who: &AddedPerson| {
        members
            .iter()
            .find(|m| m.membership_id == who.membership_id)
            .unwrap()
            .group_id
    };
    // Ann says they met (so Ben is not nudged either); Cat says not yet (Dan still is);
    // Eve pauses; Hal leaves.
    app.store
        .upsert_feedback_answer(group_of(&p[0]), p[0].membership_id, "met", published)
        .await
        .unwrap();
    app.store
        .upsert_feedback_answer(group_of(&p[2]), p[2].membership_id, "not_yet", published)
        .await
        .unwrap();
    let until = (published + Duration::days(60))
        .format("%Y-%m-%d")
        .to_string();
    participants::pause(
        &app.store,
        &member(&app.store, &trial, &p[4]).await,
        &until,
        published,
    )
    .await
    .unwrap();
    participants::leave(
        &app.store,
        &member(&app.store, &trial, &p[7]).await,
        published,
    )
    .await
    .unwrap();

    // Halfway to the feedback email (seven days) is 84 hours.
    let (_, early) = app.tick_scheduler(published + Duration::hours(83)).await;
    assert_eq!(early.nudges, 0, "not before halfway");
    let (_, report) = app.tick_scheduler(published + Duration::hours(85)).await;
    assert_eq!(report.nudges, 3);
    let (_, again) = app.tick_scheduler(published + Duration::hours(86)).await;
    assert_eq!(again.nudges, 0, "once");
    // Queued for the moment they fell due (85 hours from now), so read from the outbox.
    let nudges: Vec<_> = app
        .store
        .list_outbox(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.template == "nudge")
        .collect();
    let nudged: BTreeSet<String> = nudges.iter().map(|e| e.to_address.clone()).collect();
    let expected: BTreeSet<String> = ["dan", "fay", "gus"]
        .iter()
        .map(|n| format!("{n}@example.org"))
        .collect();
    assert_eq!(nudged, expected);
    assert_eq!(nudges.len(), 3);
    let to_dan = nudges
        .iter()
        .find(|e| e.to_address == "dan@example.org")
        .unwrap();
    assert!(
        to_dan.subject.contains("have you met Cat"),
        "{}",
        to_dan.subject
    );
    assert!(
        to_dan.body_text.contains("cat@example.org"),
        "the partner's details again"
    );
    assert!(
        to_dan.body_text.contains("/f/"),
        "the one-click feedback link"
    );
}

/// A weekly programme on Mondays 09:00 UTC, saved in 2030 so that no real clock reaches it.
async fn weekly(app: &TestApp) -> Trial {
    TrialBuilder::new("weekly")
        .with(|t| {
            t.schedule = "0 9 * * 1".into();
            t.notice_hours = "48".into();
        })
        .create(&app.store)
        .await
}

#[tokio::test]
async fn people_who_confirm_after_the_notice_went_out_get_it_before_the_round_starts() {
    let app = spawn_app_without_loops().await;
    let trial = weekly(&app).await;
    // The trial counts its slots from when it was saved (now); the first Monday 09:00 after.
    let now = Utc::now();
    let slot = app
        .store
        .trial_by_id(trial.id)
        .await
        .unwrap()
        .unwrap()
        .next_runs(now, 1)[0];
    for name in ["Ann", "Ben"] {
        person(name).add_to(&app.store, &trial).await;
    }
    let late = person("Lee")
        .state(MembershipState::Pending)
        .add_to(&app.store, &trial)
        .await;
    let too_late = person("Tim")
        .state(MembershipState::Pending)
        .add_to(&app.store, &trial)
        .await;

    let (report, _) = app.tick_scheduler(slot - Duration::hours(47)).await;
    assert_eq!((report.notices, report.notice_emails), (1, 2));

    // Lee confirms an hour later, before the round starts.
    let confirm = |who: AddedPerson, when: DateTime<Utc>| {
        let store = app.store.clone();
        async move {
            let mut tx = store.pool().begin().await.unwrap();
            let token = coffee_trials::links::new_link_token(
                &mut tx,
                LinkPurpose::Confirm,
                who.membership_id,
                when,
                when + Duration::days(1),
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            participants::confirm(&store, &token, when)
                .await
                .unwrap()
                .expect("confirmed");
        }
    };
    confirm(late, slot - Duration::hours(46)).await;
    let (report, _) = app.tick_scheduler(slot - Duration::hours(45)).await;
    assert_eq!(report.notices, 0, "the slot's notice is not sent again");
    assert_eq!(report.late_notice_emails, 1, "Lee gets it");
    let (report, _) = app.tick_scheduler(slot - Duration::hours(44)).await;
    assert_eq!(report.late_notice_emails, 0, "once");

    // Someone who confirms once the round has started waits for the next notice.
    confirm(too_late, slot + Duration::minutes(1)).await;
    let (report, _) = app.tick_scheduler(slot + Duration::minutes(2)).await;
    assert_eq!(report.late_notice_emails, 0);

    // Queued for the times the ticks were given, so read from the outbox.
    let notified: Vec<String> = app
        .store
        .list_outbox(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.template == "round_notice")
        .map(|e| e.to_address)
        .collect();
    assert_eq!(notified.len(), 3, "{notified:?}");
    assert_eq!(
        notified.iter().filter(|t| *t == "lee@example.org").count(),
        1
    );
    assert!(!notified.contains(&"tim@example.org".to_string()));
}
