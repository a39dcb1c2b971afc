//! SQLite's write-ahead log under a stream of writes: the writer never checkpoints inside its
//! own commits, and the store's background task copies the log back and lets it start again
//! from its beginning, for the database and for the rate-limit counters' file beside it.
//! PostgreSQL has no such log to look after.
use std::time::{Duration, Instant};

use crate::helpers::{migrated_store, on_postgres, TestDatabase};

/// How many times the log has started again from its beginning: the checkpoint sequence
/// number in the log file's header (bytes 12 to 15, big-endian). Read from the file, so that
/// the test itself never checkpoints.
fn log_restarts(db: &TestDatabase, file: &str) -> u32 {
    let path = format!("{}{file}-wal", db.url().trim_start_matches("sqlite:"));
    let header = std::fs::read(&path).expect("the write-ahead log");
    u32::from_be_bytes(header[12..16].try_into().unwrap())
}

#[tokio::test]
async fn the_log_of_a_long_stream_of_writes_starts_again_without_the_writer_checkpointing() {
    a_long_stream_of_writes_starts_the_log_again("main", "").await;
}

#[tokio::test]
async fn the_counters_log_starts_again_too() {
    a_long_stream_of_writes_starts_the_log_again("limits", "-limits").await;
}

/// Writes to `schema`, whose file is the database's name followed by `file`.
async fn a_long_stream_of_writes_starts_the_log_again(schema: &str, file: &str) {
    if on_postgres() {
        return;
    }
    let db = TestDatabase::create().await;
    let store = migrated_store(&db).await;
    let (auto,): (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
        .fetch_one(store.writer())
        .await
        .unwrap();
    assert_eq!(
        auto, 0,
        "the writer leaves checkpoints to the background task"
    );
    let create =
        format!("CREATE TABLE {schema}.filler (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
    sqlx::query(&create).execute(store.writer()).await.unwrap();
    let before = log_restarts(&db, file);

    // About 48 MB through the writer in small transactions: far past the 1,000 pages at
    // which SQLite would checkpoint by itself, and past the point where the task restarts
    // the log. Nothing else writes, and nothing here checkpoints.
    let body = vec![7u8; 64 * 1024];
    for _ in 0..750 {
        sqlx::query(&format!("INSERT INTO {schema}.filler (body) VALUES ($1)"))
            .bind(body.clone())
            .execute(store.writer())
            .await
            .unwrap();
    }
    // The log starts again at a write after the task has copied all of it back.
    let deadline = Instant::now() + Duration::from_secs(20);
    while log_restarts(&db, file) == before {
        assert!(
            Instant::now() < deadline,
            "the log never started again from its beginning"
        );
        let delete =
            format!("DELETE FROM {schema}.filler WHERE id = (SELECT MIN(id) FROM {schema}.filler)");
        sqlx::query(&delete).execute(store.writer()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let size = std::fs::metadata(format!(
        "{}{file}-wal",
        db.url().trim_start_matches("sqlite:")
    ))
    .unwrap()
    .len();
    assert!(size < 80 << 20, "the log file is {size} bytes");
}
