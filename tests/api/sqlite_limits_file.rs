//! SQLite keeps the rate-limit counters in a file of their own beside the database, never
//! synced, attached as `limits`: they survive restarts, a damaged file is started again at
//! start, and counts from before the move come along. PostgreSQL keeps them in its database.
use coffee_trials::config::DatabaseUrl;
use coffee_trials::store::Store;
use sqlx::Connection;

use crate::helpers::{migrated_store, on_postgres, TestDatabase};

const KEY: &str = "signup-address:0123456789abcdef";
const WINDOW: i64 = 1_796_101_200;

fn limits_path(db: &TestDatabase) -> String {
    format!("{}-limits", db.url().trim_start_matches("sqlite:"))
}

async fn hit(store: &Store) -> i64 {
    store
        .count_rate_limit_hit(KEY, WINDOW, WINDOW + 7200, WINDOW * 1000)
        .await
        .unwrap()
}

async fn reconnect(db: &TestDatabase) -> Store {
    Store::connect(&DatabaseUrl::parse(&db.url()).unwrap())
        .await
        .expect("the store opens whatever the counters' file holds")
}

/// Puts `bytes` at `path` as a new file, with no log beside it. A new file, not the old one
/// overwritten: a pool's `close` can return while one of its connections is still open, and
/// that connection, closing later, would copy its log into the file it has open.
fn replace_file(path: &str, bytes: &[u8]) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    std::fs::write(path, bytes).unwrap();
}

async fn tables_named(store: &Store, schema: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {schema}.sqlite_master WHERE name = 'rate_limits'");
    let (n,): (i64,) = sqlx::query_as(&sql).fetch_one(store.pool()).await.unwrap();
    n
}

#[tokio::test]
async fn the_counters_live_beside_the_database_in_a_file_that_is_never_synced() {
    if on_postgres() {
        return;
    }
    let db = TestDatabase::create().await;
    let store = migrated_store(&db).await;
    assert_eq!(hit(&store).await, 1);
    assert_eq!(hit(&store).await, 2);

    assert_eq!(tables_named(&store, "main").await, 0, "not in the database");
    assert_eq!(tables_named(&store, "limits").await, 1);
    assert!(std::path::Path::new(&limits_path(&db)).exists());
    let (hits,): (i64,) = sqlx::query_as("SELECT hits FROM limits.rate_limits WHERE key = $1")
        .bind(KEY)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(hits, 2, "readers see what the writer counted");

    for pool in [store.pool(), store.writer()] {
        let (limits,): (i64,) = sqlx::query_as("PRAGMA limits.synchronous")
            .fetch_one(pool)
            .await
            .unwrap();
        let (main,): (i64,) = sqlx::query_as("PRAGMA main.synchronous")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(
            (limits, main),
            (0, 1),
            "OFF for the counters, NORMAL for the rest"
        );
        let (mode,): (String,) = sqlx::query_as("PRAGMA limits.journal_mode")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal", "a crash of the process cannot damage the file");
    }
}

#[tokio::test]
async fn the_counts_outlast_a_restart() {
    if on_postgres() {
        return;
    }
    let db = TestDatabase::create().await;
    let store = migrated_store(&db).await;
    for _ in 0..3 {
        hit(&store).await;
    }
    store.close().await;
    let store = reconnect(&db).await;
    assert_eq!(hit(&store).await, 4);
}

#[tokio::test]
async fn a_damaged_counters_file_is_started_again_and_the_database_keeps_its_rows() {
    if on_postgres() {
        return;
    }
    let db = TestDatabase::create().await;
    let store = migrated_store(&db).await;
    // Enough counters for the file to have pages beyond its first.
    for n in 0..400 {
        store
            .count_rate_limit_hit(&format!("{KEY}-{n:04}"), WINDOW, WINDOW + 7200, 0)
            .await
            .unwrap();
    }
    hit(&store).await;
    let (techniques,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM techniques")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert!(techniques > 0);
    store.close().await;
    let path = limits_path(&db);

    // Every page copied from the log into the file, so that the damage below is not hidden by
    // a newer copy of the page in the log.
    let mut conn = sqlx::AnyConnection::connect(&format!("sqlite:{path}"))
        .await
        .unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    // A page in the middle overwritten, as a power cut in the middle of a write might leave it.
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.len() >= 3 * 4096,
        "the file has {} bytes",
        bytes.len()
    );
    bytes[4096..8192].fill(0xA5);
    replace_file(&path, &bytes);

    let store = reconnect(&db).await;
    assert_eq!(hit(&store).await, 1, "counting starts again");
    assert_eq!(store.count_rate_limit_rows().await.unwrap(), 1);
    let (after,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM techniques")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(after, techniques, "the database itself is untouched");
    store.close().await;

    // Something that is not a database at all goes the same way.
    replace_file(&path, b"not a database, not even close");
    let store = reconnect(&db).await;
    assert_eq!(hit(&store).await, 1);
}

#[tokio::test]
async fn counts_from_before_the_move_come_along() {
    if on_postgres() {
        return;
    }
    let db = TestDatabase::create().await;
    let store = reconnect(&db).await;
    // The schema as it was when the counters were in the database, with a count in it.
    crate::helpers::migrate_before(&store, 82).await;
    assert_eq!(tables_named(&store, "main").await, 1);
    sqlx::query(
        "INSERT INTO main.rate_limits (key, window_start, hits, last_hit_ms, expires_at) \
         VALUES ($1, $2, 41, 0, $3)",
    )
    .bind(KEY)
    .bind(WINDOW)
    .bind(WINDOW + 7200)
    .execute(store.pool())
    .await
    .unwrap();

    store.migrate().await.unwrap();
    assert_eq!(tables_named(&store, "main").await, 0);
    assert_eq!(hit(&store).await, 42, "the count went on from where it was");
}

#[tokio::test]
async fn a_counters_file_held_by_another_process_stops_the_start_and_is_kept() {
    if on_postgres() {
        return;
    }
    // Another program made the file and holds it for itself (no store of this test has had it
    // open). SQLite answers "busy", which is not damage, so the start fails after the 5 s busy
    // timeout and the file is left as it is.
    sqlx::any::install_default_drivers();
    let db = TestDatabase::create().await;
    let path = limits_path(&db);
    let mut holder = sqlx::AnyConnection::connect(&format!("sqlite:{path}?mode=rwc"))
        .await
        .unwrap();
    for sql in [
        "PRAGMA locking_mode = EXCLUSIVE",
        "CREATE TABLE rate_limits (key TEXT NOT NULL, window_start BIGINT NOT NULL, \
         hits BIGINT NOT NULL, last_hit_ms BIGINT NOT NULL, expires_at BIGINT NOT NULL, \
         PRIMARY KEY (key, window_start))",
    ] {
        sqlx::query(sql).execute(&mut holder).await.unwrap();
    }
    sqlx::query("INSERT INTO rate_limits VALUES ($1, $2, 2, 0, $3)")
        .bind(KEY)
        .bind(WINDOW)
        .bind(WINDOW + 7200)
        .execute(&mut holder)
        .await
        .unwrap();
    let refused = Store::connect(&DatabaseUrl::parse(&db.url()).unwrap()).await;
    assert!(refused.is_err(), "the store opened a file held by another");
    let (hits,): (i64,) = sqlx::query_as("SELECT hits FROM rate_limits WHERE key = $1")
        .bind(KEY)
        .fetch_one(&mut holder)
        .await
        .unwrap();
    assert_eq!(hits, 2);
    holder.close().await.unwrap();
    let store = migrated_store(&db).await;
    assert_eq!(hit(&store).await, 3, "the counts were kept");
}
