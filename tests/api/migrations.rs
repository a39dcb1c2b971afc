use std::collections::BTreeSet;

use coffee_trials::config::DatabaseUrl;
use coffee_trials::store::Store;
use sqlx::Row;

use crate::helpers::{on_postgres, TestDatabase};

const TABLES: &[&str] = &[
    "api_tokens",
    "discarded_slots",
    "do_not_pair",
    "event_summaries",
    "feedback",
    "feedback_requests",
    "import_batches",
    "instance_secrets",
    "memberships",
    "one_time_tokens",
    "organisers",
    "outbox",
    "participants",
    "rate_limits",
    "round_group_members",
    "round_groups",
    "rounds",
    "schedule_notices",
    "sessions",
    "still_in_requests",
    "techniques",
    "trial_organisers",
    "trials",
];

async fn migrated(db: &TestDatabase) -> Store {
    let store = Store::connect(&DatabaseUrl::parse(&db.url()).unwrap())
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    store
}

async fn sqlite_columns() -> BTreeSet<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("parity.db").display());
    let store = Store::connect(&DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let rows = sqlx::query(
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.iter().map(|r| (r.get("t"), r.get("c"))).collect()
}

async fn postgres_columns(store: &Store) -> BTreeSet<(String, String)> {
    let rows = sqlx::query(
        "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    rows.iter().map(|r| (r.get("t"), r.get("c"))).collect()
}

#[tokio::test]
async fn the_schema_has_every_noun_of_the_product() {
    let db = TestDatabase::create().await;
    let store = migrated(&db).await;
    for table in TABLES {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = sqlx::query(&sql).fetch_one(store.pool()).await;
        assert!(row.is_ok(), "table {table} is missing: {:?}", row.err());
    }
}

#[tokio::test]
async fn migrating_twice_changes_nothing() {
    let db = TestDatabase::create().await;
    let store = migrated(&db).await;
    store.migrate().await.expect("second run is a no-op");
}

#[tokio::test]
async fn sqlite_enforces_foreign_keys() {
    if on_postgres() {
        return; // PostgreSQL always does; this guards the SQLite pragma.
    }
    let db = TestDatabase::create().await;
    let store = migrated(&db).await;
    let orphan = sqlx::query(
        "INSERT INTO rounds (trial_id, number, seed, created_at) VALUES ($1, 1, '1', 'now')",
    )
    .bind(999_i64)
    .execute(store.pool())
    .await;
    assert!(orphan.is_err(), "a round without its trial was accepted");
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode.to_lowercase(), "wal");
}

/// The two migration folders must describe the same tables and columns. This needs a
/// PostgreSQL server, so it runs in the PostgreSQL pass of the suite.
#[tokio::test]
async fn both_backends_have_the_same_tables_and_columns() {
    if !on_postgres() {
        return;
    }
    let db = TestDatabase::create().await;
    let pg = migrated(&db).await;
    let pg_columns = postgres_columns(&pg).await;
    let sqlite_columns = sqlite_columns().await;
    assert!(!pg_columns.is_empty());
    let only_pg: Vec<_> = pg_columns.difference(&sqlite_columns).collect();
    let only_sqlite: Vec<_> = sqlite_columns.difference(&pg_columns).collect();
    assert!(
        only_pg.is_empty() && only_sqlite.is_empty(),
        "only on PostgreSQL: {only_pg:?}; only on SQLite: {only_sqlite:?}"
    );
    let tables: BTreeSet<&str> = pg_columns.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(tables, TABLES.iter().copied().collect());
}
