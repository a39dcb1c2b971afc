//! The binary as an operator meets it: exit statuses, one-line errors, graceful stop.
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_coffee-trials");

fn run(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("DATABASE_URL").env_remove("BIND");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

fn assert_config_failure(out: &std::process::Output, setting: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains(setting), "stderr names {setting}: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

#[test]
fn an_unknown_scheme_exits_2_naming_the_setting() {
    let out = run(&["migrate"], &[("DATABASE_URL", "mysql://localhost/x")]);
    assert_config_failure(&out, "DATABASE_URL");
}

#[test]
fn an_unreachable_database_exits_2_without_the_password() {
    let out = run(
        &["migrate"],
        &[(
            "DATABASE_URL",
            "postgres://someone:hunter2@127.0.0.1:1/nothing",
        )],
    );
    assert_config_failure(&out, "DATABASE_URL");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hunter2"));
}

#[test]
fn invalid_settings_exit_2() {
    for (name, value) in [
        ("BIND", "not-an-address"),
        ("LOG_FORMAT", "xml"),
        ("BASE_URL", "nope"),
        ("SMTP_URL", "http://x"),
    ] {
        let out = run(&["serve"], &[(name, value)]);
        assert_config_failure(&out, name);
    }
}

#[test]
fn a_failed_migration_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("taken.db");
    // A database that already holds a different "trials" table cannot be migrated.
    let url = format!("sqlite:{}", db.display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE trials (x TEXT)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let out = run(&["migrate"], &[("DATABASE_URL", url.as_str())]);
    assert_config_failure(&out, "DATABASE_URL");
    assert!(String::from_utf8_lossy(&out.stderr).contains("migration"));
}

#[test]
fn migrate_creates_and_migrates_an_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("new.db").display());
    let out = run(&["migrate"], &[("DATABASE_URL", url.as_str())]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("new.db").exists());
}

#[test]
fn every_subcommand_has_help() {
    for sub in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["match", "--help"],
    ] {
        let out = run(&sub, &[]);
        assert!(out.status.success(), "{sub:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{sub:?}"
        );
    }
}

/// Started with no settings in an empty folder, the service creates coffee-trials.db there,
/// says where it listens, answers, and on SIGTERM stops with status 0.
#[test]
fn serve_uses_the_default_database_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env("BIND", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let started = Instant::now();
    let mut setup_link = None;
    let address = loop {
        let line = lines.next().expect("a log line").unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
        if let Some(link) = v["setup_link"].as_str() {
            setup_link = Some(link.to_string());
        }
        if let Some(a) = v["address"].as_str() {
            assert_eq!(v["database"], "sqlite:coffee-trials.db?mode=rwc");
            break a.to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never listened"
        );
    };
    assert!(dir.path().join("coffee-trials.db").exists());
    let setup_link = setup_link.expect("a fresh install offers a set-up link");
    assert!(setup_link.contains("/admin/setup/"), "{setup_link}");
    let body = plain_http::get(&format!("{address}/healthz"));
    assert!(body.contains("\"ok\""), "{body}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

mod plain_http {
    /// A minimal blocking GET over a plain TCP socket, so this test needs no extra runtime.
    pub fn get(url: &str) -> String {
        use std::io::{Read, Write};
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest
            .split_once('/')
            .map(|(h, p)| (h, format!("/{p}")))
            .unwrap();
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    }
}

/// Runs the binary in `dir` with only the environment named here (plus PATH).
fn run_in(dir: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

#[test]
fn commands_that_write_links_refuse_another_address_than_the_servers() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("coffee.db").display());
    let db = [("DATABASE_URL", url.as_str())];
    assert!(run_in(dir.path(), &["migrate"], &db).status.success());
    // What `serve` records when it starts with BASE_URL=https://coffee.example.org/.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = coffee_trials::store::Store::connect(
            &coffee_trials::config::DatabaseUrl::parse(&url).unwrap(),
        )
        .await
        .unwrap();
        let base = url::Url::parse("https://coffee.example.org/").unwrap();
        coffee_trials::app::service::record_public_address(&store, &base)
            .await
            .unwrap();
        store.close().await;
    });

    // No BASE_URL here: the links would say http://127.0.0.1:8080/, so the command refuses.
    let out = run_in(
        dir.path(),
        &["trial", "create", "--name", "Ward", "--slug", "ward"],
        &db,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("BASE_URL"), "{stderr}");
    assert!(stderr.contains("https://coffee.example.org/"), "{stderr}");
    let listed = run_in(dir.path(), &["trial", "list"], &db);
    assert!(listed.status.success(), "listing writes no links");
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("ward"));

    // The same address given in the environment, or in coffee-trials.toml, is fine.
    let with_env = [db[0], ("BASE_URL", "https://coffee.example.org/")];
    let out = run_in(
        dir.path(),
        &["trial", "create", "--name", "Ward", "--slug", "ward"],
        &with_env,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("https://coffee.example.org/t/ward"));
    std::fs::write(
        dir.path().join("coffee-trials.toml"),
        format!("database_url = \"{url}\"\nbase_url = \"https://coffee.example.org/\"\n"),
    )
    .unwrap();
    let out = run_in(
        dir.path(),
        &["trial", "create", "--name", "Estates", "--slug", "estates"],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("https://coffee.example.org/t/estates"));

    // A typo in the file is named, with exit status 2.
    std::fs::write(
        dir.path().join("typo.toml"),
        "base_ulr = \"https://x.example/\"\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["--config", "typo.toml", "trial", "list"], &db);
    assert_config_failure(&out, "base_ulr");
}
