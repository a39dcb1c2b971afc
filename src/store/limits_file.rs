//! SQLite only: the rate-limit counters live in a file of their own beside the database,
//! `<database>-limits`, attached to every connection as the schema `limits`.
//!
//! Each sign-up adds two counters under random keys, so a batch of sign-ups wrote two dozen
//! scattered pages of the counters' index. In the database's own file those pages went
//! through its log and through the synced checkpoints that copy the log back, and the pauses
//! for those checkpoints were what the slowest sign-ups waited for (README, "A seventh
//! profile"). Counters are not worth a sync: after a power cut, losing the last seconds of
//! them costs nothing. So their file is never synced (`synchronous = OFF`). It keeps a
//! write-ahead log, so that a crash of the process cannot damage it. A power cut can, and
//! [`prepare`] then finds the damage at start and begins the file again, empty.
//!
//! Each connection keeps at most 256 KB of the file's pages (`cache_size`), where SQLite's
//! default is 2 MB for each attached file: with the default, the service's memory after 64
//! connections of sign-ups stayed at 46 MB, against 38 MB before the file; with the cap, 42 MB.
//!
//! Only one instance can use a SQLite database, so no other instance misses these counts;
//! on PostgreSQL they stay in the shared database's `rate_limits` table.
use std::path::Path;

use sqlx::{AnyConnection, Connection, Executor};

/// The same table and index as PostgreSQL's `rate_limits` (migration 0010).
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS limits.rate_limits (\
        key TEXT NOT NULL, \
        window_start BIGINT NOT NULL, \
        hits BIGINT NOT NULL, \
        last_hit_ms BIGINT NOT NULL, \
        expires_at BIGINT NOT NULL, \
        PRIMARY KEY (key, window_start)); \
    CREATE INDEX IF NOT EXISTS limits.rate_limits_expires_at ON rate_limits (expires_at);";

/// Where the counters of the database open as `main` on `conn` go: beside its file. A
/// database without a file (in memory) gets an empty name, which SQLite attaches as a private
/// temporary database.
async fn path_beside_main(conn: &mut AnyConnection) -> Result<String, sqlx::Error> {
    let (file,): (String,) =
        sqlx::query_as("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(&mut *conn)
            .await?;
    Ok(if file.is_empty() {
        file
    } else {
        format!("{file}-limits")
    })
}

/// Attaches the counters' file to `conn` and makes sure it holds the table. Runs on every new
/// connection; [`prepare`] made the table already, so they only read the schema (a database
/// without a file gets a private one, made here).
pub(super) async fn attach(conn: &mut AnyConnection, path: &str) -> Result<(), sqlx::Error> {
    sqlx::query("ATTACH DATABASE $1 AS limits")
        .bind(path)
        .execute(&mut *conn)
        .await?;
    conn.execute(
        "PRAGMA limits.journal_mode = WAL; PRAGMA limits.synchronous = OFF; \
         PRAGMA limits.journal_size_limit = 16777216; PRAGMA limits.cache_size = -256;",
    )
    .await?;
    conn.execute(SCHEMA).await?;
    Ok(())
}

/// Before the pools open: finds where the counters go, checks their file and, if it is
/// damaged (or not a database at all), starts it again empty. Returns its path. Any other
/// failure (the disk, a lock held too long) stops the start instead: a file in use by another
/// process must never be deleted under it.
pub(super) async fn prepare(mut conn: AnyConnection) -> Result<String, sqlx::Error> {
    conn.execute("PRAGMA busy_timeout = 5000;").await?;
    let path = path_beside_main(&mut conn).await?;
    if path.is_empty() {
        conn.close().await?;
        return Ok(path);
    }
    if Path::new(&path).exists() {
        let verdict = check(&mut conn, &path).await;
        // Detached whatever the check said, so that no connection holds the file if it goes.
        let _ = sqlx::query("DETACH DATABASE limits")
            .execute(&mut conn)
            .await;
        let reason = match verdict {
            Ok(verdict) if verdict == "ok" => None,
            Ok(verdict) => Some(verdict),
            Err(e) if is_damage(&e) => Some(e.to_string()),
            Err(e) => {
                // The error itself names only the database's URL; say which file it was.
                tracing::error!(
                    file = %path,
                    error = %e,
                    "sqlite: cannot open the rate-limit counters' file; it is kept as it is"
                );
                return Err(e);
            }
        };
        if let Some(reason) = reason {
            tracing::warn!(
                %reason,
                "sqlite: the rate-limit counters' file is damaged (after a power cut?); \
                 starting it again, empty"
            );
            for suffix in ["", "-wal", "-shm"] {
                match std::fs::remove_file(format!("{path}{suffix}")) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(sqlx::Error::Io(e))
                    }
                    _ => {}
                }
            }
        }
    }
    // The table is made here, once, rather than by the pools' first connections all at once
    // (they would wait for each other in SQLite's busy handler).
    attach(&mut conn, &path).await?;
    conn.close().await?;
    Ok(path)
}

/// SQLite's first complaint about the counters' file, or "ok". Quick: 0.14 s for the 422,080
/// counters a one-minute sign-up bench leaves (0.58 s with a cold disk cache).
async fn check(conn: &mut AnyConnection, path: &str) -> Result<String, sqlx::Error> {
    attach(conn, path).await?;
    let (verdict,): (String,) = sqlx::query_as("PRAGMA limits.quick_check(1)")
        .fetch_one(&mut *conn)
        .await?;
    Ok(verdict)
}

/// Whether SQLite said the file is damaged (`SQLITE_CORRUPT`) or is not a database at all
/// (`SQLITE_NOTADB`), in their primary or extended codes.
fn is_damage(e: &sqlx::Error) -> bool {
    const SQLITE_CORRUPT: i64 = 11;
    const SQLITE_NOTADB: i64 = 26;
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|code| code.parse::<i64>().ok())
        .is_some_and(|code| matches!(code & 0xff, SQLITE_CORRUPT | SQLITE_NOTADB))
}
