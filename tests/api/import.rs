//! CSV import of participants: the console's upload, preview and import, and the command line.
use std::time::{Duration, Instant};

use chrono::Utc;
use coffee_trials::domain::{TrialInput, TrialSettings};
use coffee_trials::store::trials::Trial;

use crate::helpers::{csrf_from, on_postgres, spawn_app, TestApp};

pub async fn trial(app: &TestApp, slug: &str, values: &str) -> Trial {
    let input = TrialInput {
        name: format!("Trial {slug}"),
        slug: slug.into(),
        kind: "programme".into(),
        attribute_name: "Department".into(),
        attribute_values: values.into(),
        group_size: "2".into(),
        open_for_signup: true,
        ..Default::default()
    };
    app.store
        .create_trial(&TrialSettings::try_from(&input).unwrap(), Utc::now())
        .await
        .unwrap()
}

/// Posts a file as the upload form does (multipart, CSRF token in the action's query).
pub async fn upload(app: &TestApp, slug: &str, file_name: &str, bytes: &[u8]) -> reqwest::Response {
    let form = format!("/admin/trials/{slug}/import");
    let html = app.get_html(&form).await;
    let csrf = csrf_from(&html);
    let boundary = "----coffee-trials-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    app.client
        .post(app.url(&format!("{form}?csrf_token={csrf}")))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Uploads a file that must be accepted and returns its preview page's path.
pub async fn preview_of(app: &TestApp, slug: &str, bytes: &[u8]) -> String {
    let response = upload(app, slug, "people.csv", bytes).await;
    assert_eq!(response.status().as_u16(), 303, "the upload is accepted");
    response.headers()["location"].to_str().unwrap().to_string()
}

/// Starts the import on a preview page and waits for its outcome; returns the final page.
pub async fn import_from(app: &TestApp, page: &str, consent: bool) -> String {
    let fields: &[(&str, &str)] = if consent { &[("consent", "on")] } else { &[] };
    let started = app.submit(page, page, fields).await;
    assert_eq!(started.status().as_u16(), 303);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let html = app.get_html(page).await;
        if html.contains("id=\"import-outcome\"") {
            return html;
        }
        assert!(
            Instant::now() < deadline,
            "the import did not finish: {html}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(app.store.pool())
        .await
        .unwrap();
    n
}

async fn states(app: &TestApp, trial_id: i64) -> Vec<(String, i64)> {
    let counts = app.store.count_members_by_state(trial_id).await.unwrap();
    counts
        .into_iter()
        .map(|(state, n)| (state.as_str().to_string(), n))
        .collect()
}

#[tokio::test]
async fn the_preview_names_every_problem_and_saves_nobody() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = trial(&app, "lunch", "Research\nFinance").await;
    // Someone already in the trial, to be reported as such.
    let first = preview_of(
        &app,
        "lunch",
        b"name,email,department\nAlready Here,here@example.org,Finance\n",
    )
    .await;
    import_from(&app, &first, true).await;
    let before = count(&app, "SELECT COUNT(*) FROM participants").await;

    let csv = "\u{feff}Full name,E-mail,Department,Role,Favourite biscuit\r\n\
               Ada Lovelace,ada@example.org,research,Analyst,Ginger nut\r\n\
               Bob,not-an-address,Finance,,\r\n\
               ,nameless@example.org,Finance,,\r\n\
               Ada Again,ADA@example.org,Research,,\r\n\
               Carol,carol@example.org,Catering,,\r\n\
               Here Again,here@example.org,Finance,,\r\n\
               \"Dee, the <b>Second</b>\",dee@example.org,Finance,,\r\n";
    let page = preview_of(&app, "lunch", csv.as_bytes()).await;
    let html = app.get_html(&page).await;
    assert!(
        html.contains("<strong>2</strong> to add, <strong>1</strong> already in this trial, <strong>4</strong> with problems"),
        "{html}"
    );
    assert!(
        html.contains("Favourite biscuit"),
        "ignored columns are named"
    );
    assert!(
        html.contains("Dee, the &#60;b&#62;Second&#60;/b&#62;")
            || html.contains("Dee, the &lt;b&gt;Second&lt;/b&gt;"),
        "names are escaped"
    );
    for (row, reason) in [
        ("3", "email:"),
        ("4", "name:"),
        ("5", "the same email address as row 2"),
        ("6", "Department: choose one of: Research, Finance"),
    ] {
        let cell = format!("<tr><td>{row}</td>");
        let at = html
            .find(&cell)
            .unwrap_or_else(|| panic!("row {row} listed: {html}"));
        let line = &html[at..at + html[at..].find("</tr>").unwrap()];
        assert!(line.contains(reason), "row {row}: {line}");
    }
    // Looking at the preview saved nobody.
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM participants").await,
        before
    );
    assert_eq!(states(&app, trial.id).await, vec![("active".into(), 1)]);

    let done = import_from(&app, &page, false).await;
    assert!(done.contains("Added 2 people"), "{done}");
    // Without a statement of consent, imported people wait for their confirmation.
    assert_eq!(
        states(&app, trial.id).await,
        vec![("active".into(), 1), ("pending".into(), 2)]
    );
    assert!(done.contains("2 confirmation emails"), "{done}");
    let confirmations = app.store.list_outbox(10).await.unwrap();
    assert_eq!(confirmations.len(), 2);
    assert!(confirmations.iter().all(|m| m.body_text.contains("/c/")));
    // A second go at the same upload imports nothing more.
    let again = app.submit(&page, &page, &[]).await;
    assert_eq!(again.status().as_u16(), 303);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM memberships").await, 3);
}

#[tokio::test]
async fn unreadable_files_are_refused_with_the_reason() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    trial(&app, "files", "").await;

    let latin1 = b"name,email\nAda,ada@example.org\nJos\xe9,jose@example.org\n";
    let response = upload(&app, "files", "latin1.csv", latin1).await;
    assert_eq!(response.status().as_u16(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("the file is not UTF-8 (row 3)"), "{html}");

    let response = upload(&app, "files", "nomail.csv", b"name,department\nAda,Maths\n").await;
    assert_eq!(response.status().as_u16(), 422);
    assert!(response.text().await.unwrap().contains("no email column"));

    let big = vec![b'x'; coffee_trials::app::import::MAX_BYTES + 10];
    let response = upload(&app, "files", "big.csv", &big).await;
    assert_eq!(response.status().as_u16(), 413);

    let response = upload(&app, "files", "empty.csv", b"").await;
    assert_eq!(response.status().as_u16(), 422);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM import_batches").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM participants").await, 0);
}

fn many_rows(n: usize) -> String {
    let mut csv = String::from("name,email,department\n");
    for i in 0..n {
        csv.push_str(&format!(
            "Person {i},person{i}@example.org,Team {}\n",
            i % 7
        ));
    }
    csv
}

#[tokio::test]
async fn ten_thousand_rows_import_in_one_go() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = trial(&app, "big", "").await;
    let page = preview_of(&app, "big", many_rows(10_000).as_bytes()).await;
    let html = app.get_html(&page).await;
    assert!(html.contains("<strong>10000</strong> to add"), "{html}");
    assert!(html.contains("…and 9800 more."));
    let done = import_from(&app, &page, true).await;
    assert!(done.contains("Added 10000 people"), "{done}");
    assert_eq!(
        states(&app, trial.id).await,
        vec![("active".into(), 10_000)]
    );
}

/// Makes the database refuse one membership, so that an import fails partway through.
async fn refuse_membership_for(app: &TestApp, attribute_value: &str) {
    let statements: Vec<String> = if on_postgres() {
        vec![
            format!(
                "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.attribute_value = '{attribute_value}' THEN RAISE EXCEPTION 'refused'; END IF; \
                 RETURN NEW; END $$"
            ),
            "CREATE TRIGGER refuse_one BEFORE INSERT ON memberships FOR EACH ROW EXECUTE FUNCTION refuse_one()".into(),
        ]
    } else {
        vec![format!(
            "CREATE TRIGGER refuse_one BEFORE INSERT ON memberships \
             WHEN NEW.attribute_value = '{attribute_value}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )]
    };
    for sql in statements {
        sqlx::query(&sql).execute(app.store.pool()).await.unwrap();
    }
}

/// Pending members of the trial, and confirmation emails in the outbox.
pub async fn pending_and_confirmations(app: &TestApp, trial_id: i64) -> (i64, i64) {
    let (pending,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM memberships WHERE trial_id = $1 AND state = 'pending'",
    )
    .bind(trial_id)
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    let confirmations = count(
        app,
        "SELECT COUNT(*) FROM outbox WHERE template = 'participant_confirm'",
    )
    .await;
    (pending, confirmations)
}

#[tokio::test]
async fn an_import_that_stops_partway_keeps_each_person_with_their_email_and_can_be_finished() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = trial(&app, "fragile", "").await;
    // The refused row is the 1,201st: two chunks of people go in before it.
    let mut csv = many_rows(1_200);
    csv.push_str("Refused Person,refused@example.org,Refused\n");
    csv.push_str(
        &many_rows(300)
            .replacen("name,email,department\n", "", 1)
            .replace("person", "later"),
    );
    refuse_membership_for(&app, "Refused").await;

    let page = preview_of(&app, "fragile", csv.as_bytes()).await;
    let stopped = import_from(&app, &page, false).await;
    assert!(stopped.contains("The import stopped"), "{stopped}");
    assert!(stopped.contains("Added 1000 people"), "{stopped}");
    // Nobody was saved without their confirmation email.
    assert_eq!(
        pending_and_confirmations(&app, trial.id).await,
        (1000, 1000)
    );
    assert!(
        stopped.contains("Import the other 501 people")
            || stopped.contains("add the other 501 people"),
        "{stopped}"
    );

    // With the cause gone, the same upload finishes the import.
    let drop_trigger = if on_postgres() {
        "DROP TRIGGER refuse_one ON memberships"
    } else {
        "DROP TRIGGER refuse_one"
    };
    sqlx::query(drop_trigger)
        .execute(app.store.pool())
        .await
        .unwrap();
    let done = import_from(&app, &page, false).await;
    assert!(done.contains("Added 501 people"), "{done}");
    assert_eq!(
        pending_and_confirmations(&app, trial.id).await,
        (1501, 1501)
    );
}

#[tokio::test]
async fn an_interrupted_console_import_is_shown_as_such_and_can_be_continued() {
    let app = spawn_app().await;
    app.sign_up_first_organiser().await;
    let trial = trial(&app, "cut", "").await;
    let page = preview_of(&app, "cut", many_rows(700).as_bytes()).await;
    // The service stopped partway through an earlier import of this upload: its batch is
    // still `importing`, with a progress written long ago (as a chunk writes it).
    let batch_id = page.rsplit('/').next().unwrap();
    let first_chunk: Vec<_> =
        coffee_trials::app::import::parse(many_rows(500).as_bytes(), "Department", &[])
            .unwrap()
            .accepted
            .into_iter()
            .map(|r| r.details)
            .collect();
    coffee_trials::app::import::commit(
        &app.store,
        &app.settings.base_url,
        &trial,
        &first_chunk,
        false,
        None,
        Utc::now(),
        &mut |_| {},
    )
    .await
    .unwrap();
    let long_ago = coffee_trials::store::time::to_db(Utc::now() - chrono::Duration::minutes(10));
    sqlx::query(
        "UPDATE import_batches SET state = 'importing', total = 700, done = 500, \
         heartbeat_at = $1 WHERE public_id = $2",
    )
    .bind(&long_ago)
    .bind(batch_id)
    .execute(app.store.pool())
    .await
    .unwrap();

    let html = app.get_html(&page).await;
    assert!(
        html.contains("interrupted after 500 of 700 people"),
        "{html}"
    );
    assert!(html.contains("add the other 200 people"), "{html}");
    let done = import_from(&app, &page, false).await;
    assert!(done.contains("Added 200 people"), "{done}");
    assert_eq!(pending_and_confirmations(&app, trial.id).await, (700, 700));
}

#[tokio::test]
async fn a_killed_command_line_import_is_finished_by_running_it_again() {
    let app = spawn_app().await;
    let trial = trial(&app, "killed", "").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(&file, many_rows(10_000)).unwrap();
    let file = file.to_str().unwrap();
    let mut child = std::process::Command::new(BIN)
        .args(["participants", "import", "--trial", "killed", file])
        .env("DATABASE_URL", app._db.url())
        .env_remove("BIND")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (members,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM memberships WHERE trial_id = $1")
                .bind(trial.id)
                .fetch_one(app.store.pool())
                .await
                .unwrap();
        if members > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the import never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (pending, confirmations) = pending_and_confirmations(&app, trial.id).await;
    assert!(pending < 10_000, "the kill came after the whole import");
    assert_eq!(
        confirmations, pending,
        "everyone saved has their confirmation email"
    );

    let out = cli(&app, &["participants", "import", "--trial", "killed", file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        pending_and_confirmations(&app, trial.id).await,
        (10_000, 10_000)
    );
    // Once more: nobody to add, nothing missing, nothing sent twice.
    let out = cli(&app, &["participants", "import", "--trial", "killed", file]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Nobody to add."));
    assert_eq!(
        pending_and_confirmations(&app, trial.id).await,
        (10_000, 10_000)
    );
}

const BIN: &str = env!("CARGO_BIN_EXE_coffee-trials");

fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", app._db.url())
        .env_remove("BIND")
        .output()
        .expect("the binary runs")
}

#[tokio::test]
async fn the_command_line_imports_all_or_nothing() {
    let app = spawn_app().await;
    let trial = trial(&app, "cli", "").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "name,email,team\nAda,ada@example.org,Engines\nBob,bob@,\nCarol,carol@example.org,\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();

    // A row with a problem stops the whole import.
    let out = cli(&app, &["participants", "import", "--trial", "cli", file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr.contains("row 3: email:"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("2 to add, 0 already in 'cli', 1 with problems"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM memberships").await, 0);

    // Skipping it imports the others, pending without --consent and with plain progress lines.
    let out = cli(
        &app,
        &[
            "participants",
            "import",
            "--trial",
            "cli",
            "--skip-problems",
            file,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Added 2 people to 'cli' as pending"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 confirmation emails queued"));
    assert_eq!(states(&app, trial.id).await, vec![("pending".into(), 2)]);

    // With --consent new people are active; those already there are left alone.
    std::fs::write(dir.path().join("more.csv"), many_rows(2_500)).unwrap();
    let more = dir.path().join("more.csv");
    let out = cli(
        &app,
        &[
            "participants",
            "import",
            "--trial",
            "cli",
            "--consent",
            more.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("imported 1000 of 2500 rows"));
    assert_eq!(
        states(&app, trial.id).await,
        vec![("active".into(), 2_500), ("pending".into(), 2)]
    );

    let out = cli(&app, &["participants", "import", "--trial", "nope", file]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--trial"));
}
