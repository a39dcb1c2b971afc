//! Rate limits: sign-in back-off per account and address, the per-account ceiling and its
//! email, client addresses behind trusted proxies, and counts shared through the database.
use coffee_trials::config::DatabaseUrl;
use coffee_trials::domain::MembershipState;
use coffee_trials::web::client_address::TrustedProxies;
use reqwest::header::HeaderMap;
use reqwest::Response;
use serde_json::json;

use crate::helpers::{
    csrf_from, spawn_app, spawn_app_with, TestApp, ORGANISER_EMAIL, ORGANISER_PASSWORD,
};
use crate::participants::open_trial;

const WRONG: &str = "not the password at all";

/// Headers as a reverse proxy would add them for a client at `client`.
fn forwarded_for(client: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-for", client.parse().unwrap());
    h
}

/// Signs in with `client`, sending `headers` on both the form page and the POST.
async fn sign_in_with(
    app: &TestApp,
    client: &reqwest::Client,
    headers: HeaderMap,
    email: &str,
    password: &str,
) -> Response {
    let html = client
        .get(app.url("/admin/login"))
        .headers(headers.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    client
        .post(app.url("/admin/login"))
        .headers(headers)
        .form(&[
            ("csrf_token", csrf_from(&html).as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .expect("a 429 says when to come back")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn behind_proxy(ceiling: u32) -> TestApp {
    spawn_app_with(|s| {
        s.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        s.sign_in_ceiling_per_hour = ceiling;
    })
    .await
}

async fn emails_to_organiser(app: &TestApp) -> usize {
    app.store
        .list_outbox(100)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.template == "sign_in_attempts" && e.to_address == ORGANISER_EMAIL)
        .count()
}

#[tokio::test]
async fn limits_a_strangers_failures_do_not_lock_the_owner_out() {
    let app = behind_proxy(6).await;
    app.sign_up_first_organiser().await;
    let owner = || forwarded_for("198.51.100.10");
    let right = sign_in_with(
        &app,
        &app.anonymous_client(),
        owner(),
        ORGANISER_EMAIL,
        ORGANISER_PASSWORD,
    )
    .await;
    assert_eq!(right.status().as_u16(), 303);

    // A stranger at one address: a few failures, then a wait.
    let stranger = app.anonymous_client();
    for _ in 0..3 {
        let r = sign_in_with(
            &app,
            &stranger,
            forwarded_for("203.0.113.7"),
            ORGANISER_EMAIL,
            WRONG,
        )
        .await;
        assert_eq!(r.status().as_u16(), 401);
    }
    let r = sign_in_with(
        &app,
        &stranger,
        forwarded_for("203.0.113.7"),
        ORGANISER_EMAIL,
        WRONG,
    )
    .await;
    assert_eq!(r.status().as_u16(), 429);
    // Meanwhile the owner is not slowed down at all.
    let right = sign_in_with(
        &app,
        &app.anonymous_client(),
        owner(),
        ORGANISER_EMAIL,
        ORGANISER_PASSWORD,
    )
    .await;
    assert_eq!(right.status().as_u16(), 303);

    // The stranger moves on to more addresses until the account's ceiling (6) is reached.
    for address in ["203.0.113.8", "203.0.113.9", "203.0.113.8"] {
        let r = sign_in_with(
            &app,
            &stranger,
            forwarded_for(address),
            ORGANISER_EMAIL,
            WRONG,
        )
        .await;
        assert_eq!(r.status().as_u16(), 401);
    }
    // Past the ceiling, an address the account has never signed in from must wait, even with
    // the right password...
    let new_place = sign_in_with(
        &app,
        &app.anonymous_client(),
        forwarded_for("192.0.2.99"),
        ORGANISER_EMAIL,
        ORGANISER_PASSWORD,
    )
    .await;
    assert_eq!(new_place.status().as_u16(), 429);
    assert!(retry_after(&new_place) >= 1);
    // ...but the owner at their usual address still gets in.
    let right = sign_in_with(
        &app,
        &app.anonymous_client(),
        owner(),
        ORGANISER_EMAIL,
        ORGANISER_PASSWORD,
    )
    .await;
    assert_eq!(right.status().as_u16(), 303);
    assert_eq!(right.headers()["location"], "/admin");
}

#[tokio::test]
async fn limits_waits_between_failed_sign_ins_grow() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let visitor = app.anonymous_client();
    let attempt = || sign_in_with(&app, &visitor, HeaderMap::new(), ORGANISER_EMAIL, WRONG);
    for _ in 0..3 {
        assert_eq!(attempt().await.status().as_u16(), 401);
    }
    let first = attempt().await;
    assert_eq!(first.status().as_u16(), 429);
    let first_wait = retry_after(&first);
    let page = first.text().await.unwrap();
    assert!(
        page.contains(&format!("Wait {first_wait} second")),
        "{page}"
    );
    assert!(
        page.contains(ORGANISER_EMAIL),
        "the form keeps what was typed"
    );

    tokio::time::sleep(std::time::Duration::from_millis(first_wait * 1000 + 300)).await;
    assert_eq!(attempt().await.status().as_u16(), 401, "the wait is over");
    let second = attempt().await;
    assert_eq!(second.status().as_u16(), 429);
    let second_wait = retry_after(&second);
    assert!(
        second_wait > first_wait,
        "{second_wait} seconds after four failures, {first_wait} after three"
    );
}

#[tokio::test]
async fn limits_the_ceiling_emails_the_organiser_once() {
    let app = behind_proxy(4).await;
    app.sign_up_first_organiser().await;
    let stranger = app.anonymous_client();
    let mut addresses = (1..=6).map(|n| format!("203.0.113.{n}"));
    for _ in 0..3 {
        let address = addresses.next().unwrap();
        let r = sign_in_with(
            &app,
            &stranger,
            forwarded_for(&address),
            ORGANISER_EMAIL,
            WRONG,
        )
        .await;
        assert_eq!(r.status().as_u16(), 401);
    }
    assert_eq!(emails_to_organiser(&app).await, 0, "below the ceiling");
    let r = sign_in_with(
        &app,
        &stranger,
        forwarded_for(&addresses.next().unwrap()),
        ORGANISER_EMAIL,
        WRONG,
    )
    .await;
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(emails_to_organiser(&app).await, 1, "at the ceiling");
    // Further attempts from new addresses are refused, and no second email is sent.
    for address in addresses {
        let r = sign_in_with(
            &app,
            &stranger,
            forwarded_for(&address),
            ORGANISER_EMAIL,
            WRONG,
        )
        .await;
        assert_eq!(r.status().as_u16(), 429);
        assert!(retry_after(&r) >= 1);
    }
    assert_eq!(emails_to_organiser(&app).await, 1);
    let email = app
        .store
        .list_outbox(10)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.template == "sign_in_attempts")
        .unwrap();
    assert!(email.body_text.contains("4 times"), "{}", email.body_text);
    assert!(
        !email.body_text.contains("203.0.113"),
        "no addresses in the email"
    );

    // An account that does not exist reaches its ceiling without any email.
    for n in 1..=5 {
        sign_in_with(
            &app,
            &stranger,
            forwarded_for(&format!("198.51.100.{n}")),
            "nobody@example.org",
            WRONG,
        )
        .await;
    }
    assert_eq!(app.store.list_outbox(100).await.unwrap().len(), 1);
}

async fn api_sign_up(app: &TestApp, headers: HeaderMap, email: &str) -> Response {
    app.client
        .post(app.url("/api/v1/public/signups"))
        .headers(headers)
        .json(&json!({
            "trial": "ward-7",
            "name": "Ada Lovelace",
            "email": email,
            "attribute_value": "nursing",
            "meeting_modes": ["video"],
            "consent": true,
        }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn limits_clients_behind_a_trusted_proxy_are_limited_separately() {
    let app = spawn_app_with(|s| {
        s.trusted_proxies = TrustedProxies::parse("127.0.0.1, ::1").unwrap();
        s.signup_limit_per_ip = 2;
    })
    .await;
    open_trial(&app, "ward-7", "Nursing\nEstates").await;
    let first = || forwarded_for("198.51.100.1");
    assert_eq!(
        api_sign_up(&app, first(), "a1@example.org")
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(
        api_sign_up(&app, first(), "a2@example.org")
            .await
            .status()
            .as_u16(),
        202
    );
    let refused = api_sign_up(&app, first(), "a3@example.org").await;
    assert_eq!(refused.status().as_u16(), 429);
    assert!(retry_after(&refused) >= 1);
    // Another client through the same proxy has its own count, by either header.
    assert_eq!(
        api_sign_up(
            &app,
            forwarded_for("1.2.3.4, 198.51.100.2"),
            "b1@example.org"
        )
        .await
        .status()
        .as_u16(),
        202
    );
    let mut forwarded = HeaderMap::new();
    forwarded.insert(
        "forwarded",
        "for=\"[2001:db8::7]:4711\";proto=https".parse().unwrap(),
    );
    assert_eq!(
        api_sign_up(&app, forwarded, "c1@example.org")
            .await
            .status()
            .as_u16(),
        202
    );
    // A client cannot escape its count by making up hops to the left of its own.
    let r = api_sign_up(
        &app,
        forwarded_for("192.0.2.50, 198.51.100.1"),
        "a4@example.org",
    )
    .await;
    assert_eq!(r.status().as_u16(), 429);
}

#[tokio::test]
async fn limits_forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let app = spawn_app_with(|s| s.signup_limit_per_ip = 2).await;
    open_trial(&app, "ward-7", "Nursing\nEstates").await;
    assert_eq!(
        api_sign_up(&app, forwarded_for("198.51.100.1"), "a1@example.org")
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(
        api_sign_up(&app, forwarded_for("198.51.100.2"), "a2@example.org")
            .await
            .status()
            .as_u16(),
        202
    );
    let r = api_sign_up(&app, forwarded_for("198.51.100.3"), "a3@example.org").await;
    assert_eq!(r.status().as_u16(), 429, "all three come from 127.0.0.1");
    let mut forwarded = HeaderMap::new();
    forwarded.insert("forwarded", "for=198.51.100.4".parse().unwrap());
    assert_eq!(
        api_sign_up(&app, forwarded, "a4@example.org")
            .await
            .status()
            .as_u16(),
        429
    );

    // Sign-in back-off likewise follows the peer, not the header.
    app.sign_up_first_organiser().await;
    let visitor = app.anonymous_client();
    for n in 1..=3 {
        let r = sign_in_with(
            &app,
            &visitor,
            forwarded_for(&format!("203.0.113.{n}")),
            ORGANISER_EMAIL,
            WRONG,
        )
        .await;
        assert_eq!(r.status().as_u16(), 401);
    }
    let r = sign_in_with(
        &app,
        &visitor,
        forwarded_for("203.0.113.4"),
        ORGANISER_EMAIL,
        WRONG,
    )
    .await;
    assert_eq!(r.status().as_u16(), 429);
}

#[tokio::test]
async fn limits_two_instances_on_one_database_share_the_counts() {
    let first = spawn_app_with(|s| s.signup_limit_per_ip = 3).await;
    let url = first._db.url();
    let second = spawn_app_with(|s| {
        s.database_url = DatabaseUrl::parse(&url).unwrap();
        s.signup_limit_per_ip = 3;
    })
    .await;
    open_trial(&first, "ward-7", "Nursing\nEstates").await;
    let none = HeaderMap::new;
    assert_eq!(
        api_sign_up(&first, none(), "a1@example.org")
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(
        api_sign_up(&second, none(), "a2@example.org")
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(
        api_sign_up(&first, none(), "a3@example.org")
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(
        api_sign_up(&second, none(), "a4@example.org")
            .await
            .status()
            .as_u16(),
        429
    );
    assert_eq!(
        api_sign_up(&first, none(), "a5@example.org")
            .await
            .status()
            .as_u16(),
        429
    );

    // Failed sign-ins at one instance count at the other.
    first.sign_up_first_organiser().await;
    let visitor = first.anonymous_client();
    for app in [&first, &second, &first] {
        let r = sign_in_with(app, &visitor, none(), ORGANISER_EMAIL, WRONG).await;
        assert_eq!(r.status().as_u16(), 401);
    }
    let r = sign_in_with(
        &second,
        &second.anonymous_client(),
        none(),
        ORGANISER_EMAIL,
        WRONG,
    )
    .await;
    assert_eq!(r.status().as_u16(), 429);
}

#[tokio::test]
async fn limits_old_windows_are_deleted_and_keys_hold_no_personal_data() {
    let app = spawn_app().await;
    open_trial(&app, "ward-7", "Nursing\nEstates").await;
    // A window that ended long ago, as a previous run of the service would leave behind.
    app.store
        .count_rate_limit_hit("signup-address:old", 0, 7200, 1_000)
        .await
        .unwrap();
    assert_eq!(app.store.count_rate_limit_rows().await.unwrap(), 1);
    let r = api_sign_up(&app, HeaderMap::new(), "ada@example.org").await;
    assert_eq!(r.status().as_u16(), 202);
    assert!(app
        .store
        .rate_limit_windows("signup-address:old", 0)
        .await
        .unwrap()
        .is_empty());
    // The sign-up's own counts (address and email) remain.
    let keys: Vec<(String,)> = sqlx::query_as("SELECT key FROM rate_limits")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for (key,) in keys {
        // Keys are a prefix and a keyed hash in hex; "ada" alone could occur in the hex.
        assert!(
            !key.contains("ada@") && !key.contains("example.org") && !key.contains("127.0.0.1"),
            "{key}"
        );
    }
}

/// Both limits are counted in one statement; an attempt refused for its client is taken back
/// from its email address's count, so that it records nothing.
#[tokio::test]
async fn limits_an_attempt_refused_for_its_client_does_not_count_against_its_email() {
    let app = spawn_app_with(|s| {
        s.trusted_proxies = TrustedProxies::parse("127.0.0.1, ::1").unwrap();
        s.signup_limit_per_ip = 1;
        s.signup_limit_per_email = 1;
    })
    .await;
    open_trial(&app, "ward-7", "Nursing\nEstates").await;
    for (client, email, expected) in [
        (1, "a1@example.org", 202),
        (1, "shared@example.org", 429),
        (2, "shared@example.org", 202),
        // Now the address has had its one sign-up.
        (3, "shared@example.org", 429),
    ] {
        let r = api_sign_up(&app, forwarded_for(&format!("198.51.100.{client}")), email).await;
        assert_eq!(
            r.status().as_u16(),
            expected,
            "{email} from client {client}"
        );
    }
    let outbox = app.store.list_outbox(10).await.unwrap();
    assert_eq!(outbox.len(), 2);
}

/// Sign-ups sent at the same moment are written together, in batches: every one gets its own
/// answer, each limit is counted exactly once per request, and every accepted sign-up has its
/// person and its email.
#[tokio::test]
async fn limits_sign_ups_sent_at_once_are_each_counted_and_stored() {
    let app = spawn_app_with(|s| {
        s.trusted_proxies = TrustedProxies::parse("127.0.0.1, ::1").unwrap();
        s.signup_limit_per_ip = 5;
    })
    .await;
    open_trial(&app, "ward-7", "Nursing\nEstates").await;
    // 30 clients with one sign-up each, and one client with 12: all at once.
    let mut requests = Vec::new();
    for i in 0..30 {
        requests.push((format!("198.51.100.{i}"), format!("many{i}@example.org")));
    }
    for i in 0..12 {
        requests.push(("203.0.113.9".to_string(), format!("same{i}@example.org")));
    }
    let answers = futures_util::future::join_all(
        requests
            .iter()
            .map(|(client, email)| api_sign_up(&app, forwarded_for(client), email)),
    )
    .await;
    let status: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert!(status[..30].iter().all(|s| *s == 202), "{status:?}");
    let same = &status[30..];
    assert_eq!(same.iter().filter(|s| **s == 202).count(), 5, "{same:?}");
    assert_eq!(same.iter().filter(|s| **s == 429).count(), 7, "{same:?}");
    // 35 people, each with their one confirmation email; the refused left nothing behind.
    let outbox = app.store.list_outbox(100).await.unwrap();
    assert_eq!(outbox.len(), 35);
    let mut to: Vec<&str> = outbox.iter().map(|m| m.to_address.as_str()).collect();
    to.sort_unstable();
    to.dedup();
    assert_eq!(to.len(), 35);
    let trial = app.store.find_trial("ward-7").await.unwrap().unwrap();
    let states = app.store.count_members_by_state(trial.id).await.unwrap();
    assert_eq!(states, vec![(MembershipState::Pending, 35)]);
}

/// Five sign-ups for one email address at the same moment, from five clients: the per-email
/// limit lets exactly three through, and they find each other as if written one after
/// another (one person, one membership, an email for each accepted sign-up).
#[tokio::test]
async fn limits_one_address_signed_up_five_times_at_once_is_one_person() {
    let app = spawn_app_with(|s| {
        s.trusted_proxies = TrustedProxies::parse("127.0.0.1, ::1").unwrap();
        s.signup_limit_per_email = 3;
    })
    .await;
    open_trial(&app, "ward-7", "Nursing\nEstates").await;
    let clients: Vec<String> = (0..5).map(|i| format!("198.51.100.{i}")).collect();
    let answers = futures_util::future::join_all(
        clients
            .iter()
            .map(|client| api_sign_up(&app, forwarded_for(client), "twin@example.org")),
    )
    .await;
    let mut status: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    status.sort_unstable();
    assert_eq!(status, [202, 202, 202, 429, 429]);
    let trial = app.store.find_trial("ward-7").await.unwrap().unwrap();
    let states = app.store.count_members_by_state(trial.id).await.unwrap();
    assert_eq!(states, vec![(MembershipState::Pending, 1)]);
    let outbox = app.store.list_outbox(100).await.unwrap();
    assert_eq!(outbox.len(), 3);
    assert!(outbox.iter().all(|m| m.to_address == "twin@example.org"));
    assert!(
        outbox.iter().all(|m| m.template == "participant_confirm"),
        "{outbox:?}"
    );
}

/// Every sign-up attempt, refused or not, is counted where the outbox senders read whether a
/// crowd is signing up (so that delivery gives way to it).
#[tokio::test]
async fn the_sign_up_desk_counts_every_attempt_for_the_senders() {
    use coffee_trials::app::limits::RateLimits;
    use coffee_trials::app::signups::SignUpDesk;
    use coffee_trials::mail::foreground::Foreground;
    let t = crate::helpers::TestStore::new().await;
    let foreground = Foreground::default();
    let desk = SignUpDesk::start(
        &t.store,
        RateLimits::load(&t.store).await.unwrap(),
        1000,
        1000,
        url::Url::parse("http://127.0.0.1/").unwrap(),
        foreground.clone(),
    );
    let address: std::net::IpAddr = "127.0.0.9".parse().unwrap();
    assert_eq!(foreground.per_second_at(std::time::Instant::now()), 0.0);
    for _ in 0..60 {
        desk.sign_up(address, None, chrono::Utc::now())
            .await
            .unwrap();
    }
    assert!(foreground.per_second_at(std::time::Instant::now()) > 0.0);
}
