//! The front page at `/`.
use crate::builders::TrialBuilder;
use crate::helpers::spawn_app_without_loops;

#[tokio::test]
async fn the_front_page_lists_only_the_trials_taking_sign_ups() {
    let app = spawn_app_without_loops().await;
    TrialBuilder::new("lunch")
        .name("Lunch <b>&</b> learn")
        .with(|t| {
            t.open_for_signup = true;
            t.show_on_home = true;
        })
        .create(&app.store)
        .await;
    TrialBuilder::new("closed-one")
        .name("Closed pilot")
        .with(|t| {
            t.open_for_signup = false;
            t.show_on_home = true;
        })
        .create(&app.store)
        .await;

    let response = app.get("/").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = response.text().await.unwrap();

    assert!(
        html.contains(r#"<a href="/t/lunch">Lunch &#60;b&#62;&#38;&#60;/b&#62; learn</a>"#)
            || html.contains(r#"<a href="/t/lunch">Lunch &lt;b&gt;&amp;&lt;/b&gt; learn</a>"#),
        "the open trial is linked, its name escaped: {html}"
    );
    assert!(!html.contains("Closed pilot"));
    assert!(!html.contains("/t/closed-one"));
    assert!(
        html.contains(r#"href="/techniques""#) || html.contains(r#"href="/techniques#before""#)
    );
    assert!(html.contains(r#"href="/admin/login""#));
}

#[tokio::test]
async fn with_no_trial_open_the_front_page_says_so() {
    let app = spawn_app_without_loops().await;
    let html = app.get_html("/").await;
    assert!(html.contains("No trial is taking sign-ups"), "{html}");
    assert!(!html.contains(r#"href="/t/"#));
}
