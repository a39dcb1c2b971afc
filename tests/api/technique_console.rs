use crate::helpers::spawn_app;

fn body(extra: &str) -> String {
    format!("## What it is for\n\nSharing.\n\n## How to run it\n\n1. Meet.\n\n## When to use it\n\nOften.\n\n## Example\n\n{extra}\n")
}

#[tokio::test]
async fn organisers_edit_and_add_techniques_and_scripts_stay_text() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let hostile = body("<script>alert('x')</script> and [a link](javascript:alert(1))");
    let edited = app
        .submit(
            "/admin/techniques/peer-assist",
            "/admin/techniques/peer-assist",
            &[
                ("slug", "peer-assist"),
                ("name", "Peer assist"),
                ("phase", "before"),
                ("summary", "Borrow what others know."),
                ("duration_min_minutes", "60"),
                ("duration_max_minutes", "120"),
                ("people_min", "4"),
                ("people_max", "12"),
                ("body_md", &hostile),
            ],
        )
        .await;
    assert_eq!(edited.status().as_u16(), 303);
    let page = app.get_html("/techniques/peer-assist").await;
    assert!(
        page.contains("&lt;script&gt;") && !page.contains("<script>alert"),
        "{page}"
    );
    assert!(!page.contains("href=\"javascript:"));

    let added = app
        .submit(
            "/admin/techniques/new",
            "/admin/techniques",
            &[
                ("slug", "walking-meeting"),
                ("name", "Walking meeting"),
                ("phase", "during"),
                ("summary", "Talk while you walk."),
                ("duration_min_minutes", "20"),
                ("duration_max_minutes", "40"),
                ("people_min", "2"),
                ("people_max", ""),
                ("body_md", &body("A lap of the hospital grounds.")),
            ],
        )
        .await;
    assert_eq!(added.status().as_u16(), 303);
    assert_eq!(added.headers()["location"], "/techniques/walking-meeting");
    let list = app.get_html("/techniques").await;
    assert!(list.contains("Walking meeting"));
}

#[tokio::test]
async fn a_bad_technique_form_keeps_what_was_typed() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let response = app
        .submit(
            "/admin/techniques/new",
            "/admin/techniques",
            &[
                ("slug", "peer-assist"),
                ("name", "Copy"),
                ("phase", "during"),
                ("summary", "kept summary"),
                ("duration_min_minutes", "soon"),
                ("duration_max_minutes", "30"),
                ("people_min", "2"),
                ("body_md", &body("x")),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"duration_min_minutes-error\""));
    assert!(html.contains("value=\"soon\"") && html.contains("kept summary"));

    let taken = app
        .submit(
            "/admin/techniques/new",
            "/admin/techniques",
            &[
                ("slug", "peer-assist"),
                ("name", "Copy"),
                ("phase", "during"),
                ("summary", "s"),
                ("duration_min_minutes", "10"),
                ("duration_max_minutes", "30"),
                ("people_min", "2"),
                ("body_md", &body("x")),
            ],
        )
        .await;
    assert_eq!(taken.status().as_u16(), 422);
    assert!(taken.text().await.unwrap().contains("id=\"slug-error\""));
}
