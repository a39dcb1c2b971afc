//! The front page lists only the trials organisers chose to show there ("Show on the home
//! page" on the trial form), and only while they are open for sign-up.
use crate::builders::TrialBuilder;
use crate::helpers::spawn_app_without_loops;

const RCT_PAGE: &str = "/techniques/randomised-coffee-trials";

fn listed(html: &str, slug: &str) -> bool {
    html.contains(&format!("<a href=\"/t/{slug}\">"))
}

#[tokio::test]
async fn only_trials_chosen_for_the_home_page_are_listed_there() {
    let app = spawn_app_without_loops().await;
    app.sign_up_first_organiser().await;
    // Made before the setting existed, or without touching it: not listed.
    TrialBuilder::new("quiet-team")
        .with(|t| t.open_for_signup = true)
        .create(&app.store)
        .await;
    TrialBuilder::new("closed-listed")
        .with(|t| {
            t.open_for_signup = false;
            t.show_on_home = true;
        })
        .create(&app.store)
        .await;

    // A new trial from the console: the box starts unticked, and open alone does not list it.
    let form = app.get_html("/admin/trials/new").await;
    assert!(form.contains("id=\"show_on_home\""));
    assert!(!form.contains("name=\"show_on_home\" value=\"on\" checked"));
    let created = app
        .submit(
            "/admin/trials/new",
            "/admin/trials",
            &[
                ("name", "Everyone welcome"),
                ("slug", "everyone"),
                ("kind", "programme"),
                ("open_for_signup", "on"),
            ],
        )
        .await;
    assert_eq!(created.status().as_u16(), 303);
    let home = app.get_html("/").await;
    for slug in ["quiet-team", "closed-listed", "everyone"] {
        assert!(!listed(&home, slug), "{slug} is not listed: {home}");
    }
    assert!(home.contains("No trial is taking sign-ups"));

    // The organiser ticks the box: listed on the home page and on the coffee-trials page.
    let saved = app
        .submit(
            "/admin/trials/everyone",
            "/admin/trials/everyone",
            &[
                ("name", "Everyone welcome"),
                ("slug", "everyone"),
                ("kind", "programme"),
                ("open_for_signup", "on"),
                ("show_on_home", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status().as_u16(), 303);
    let form = app.get_html("/admin/trials/everyone").await;
    assert!(form.contains("name=\"show_on_home\" value=\"on\" checked"));
    let home = app.get_html("/").await;
    assert!(listed(&home, "everyone"), "{home}");
    assert!(!listed(&home, "quiet-team") && !listed(&home, "closed-listed"));
    let rct = app.get_html(RCT_PAGE).await;
    assert!(listed(&rct, "everyone") && !listed(&rct, "quiet-team"));

    // Closed for sign-up, it leaves the home page even with the box ticked.
    let closed = app
        .submit(
            "/admin/trials/everyone",
            "/admin/trials/everyone",
            &[
                ("name", "Everyone welcome"),
                ("slug", "everyone"),
                ("kind", "programme"),
                ("show_on_home", "on"),
            ],
        )
        .await;
    assert_eq!(closed.status().as_u16(), 303);
    assert!(!listed(&app.get_html("/").await, "everyone"));
}
