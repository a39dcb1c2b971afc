//! SQLite's checkpoints, moved off the writer's commits.
//!
//! By default SQLite copies the write-ahead log back into the database file inside whichever
//! commit finds the log past 1,000 pages, and syncs both files while it is at it. Under a burst
//! of sign-ups that commit was the single writer's, and every request queued behind it waited:
//! commits took half of each batch's time. So the writer connection never checkpoints by
//! itself (`wal_autocheckpoint = 0`), and this task does it in two steps:
//!
//! - every [`EVERY`], a `PASSIVE` checkpoint on a connection of the read pool copies whatever
//!   the log holds and syncs, beside the writer, waiting for nobody;
//! - once the log is past [`RESTART_AFTER_FRAMES`], one more `PASSIVE` checkpoint runs on the
//!   writer connection itself. A passive checkpoint never empties a log that keeps growing,
//!   and the log starts again from its beginning only after one has copied all of it; holding
//!   the writer, this one can, and it is short because the first step already copied nearly
//!   everything. Writes wait for it in the writer pool's queue, as they wait for each other.
//!
//! Connections of the read pool keep SQLite's default, so a write through them still
//! checkpoints a long log the ordinary way.
use std::time::Duration;

use sqlx::AnyPool;

/// Often enough that a burst of writes is copied in small steps, seldom enough that an idle
/// service does next to nothing.
const EVERY: Duration = Duration::from_millis(250);
/// 32 MB of 4 KB pages. With about 56 KB of log per sign-up, that is four or five times a
/// second at 2,700 sign-ups a second (an estimate, not counted); 16 MB and 128 MB were tried
/// and made the sign-ups' p99 no better.
const RESTART_AFTER_FRAMES: i64 = 8192;

/// Before the pass on the writer, passive passes go on (at most this many) until one finds
/// fewer than [`LITTLE_LEFT_FRAMES`] new pages: the writer then waits only for those.
const CATCH_UP_PASSES: usize = 6;
const LITTLE_LEFT_FRAMES: i64 = 256;

/// Checkpoints the database behind `pool` and `writer` until the pool is closed.
pub(super) fn spawn_checkpoints(pool: AnyPool, writer: AnyPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Said once when checkpoints start failing and once when they work again: four
        // warnings a second through a disk outage would bury everything else in the log.
        let mut failing = false;
        loop {
            tick.tick().await;
            if pool.is_closed() || writer.is_closed() {
                return;
            }
            match checkpoint(&pool, &writer).await {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("sqlite: checkpoints work again");
                }
                Ok(()) => {}
                Err(_) if pool.is_closed() || writer.is_closed() => return,
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "sqlite: a checkpoint failed; trying again every 250 ms");
                }
                Err(_) => {}
            }
        }
    });
}

async fn checkpoint(pool: &AnyPool, writer: &AnyPool) -> Result<(), sqlx::Error> {
    let (_, log, _) = passive(pool, Schema::Main).await?;
    // The rate-limit counters' log (see `limits_file`): never synced, so copying it costs
    // only the copy, and it goes the same way as the database's.
    let (_, limits_log, _) = passive(pool, Schema::Limits).await?;
    if log > RESTART_AFTER_FRAMES {
        // Catch up with the writes that came while copying, until what is left is little.
        let mut copied_before = log;
        for _ in 0..CATCH_UP_PASSES {
            let (_, log, _) = passive(pool, Schema::Main).await?;
            if log - copied_before < LITTLE_LEFT_FRAMES {
                break;
            }
            copied_before = log;
        }
        passive(writer, Schema::Main).await?;
    }
    if limits_log > RESTART_AFTER_FRAMES {
        passive(writer, Schema::Limits).await?;
    }
    Ok(())
}

/// Which database a checkpoint copies: without a name, SQLite would checkpoint every attached
/// database and report the figures of whichever came last.
#[derive(Clone, Copy)]
enum Schema {
    Main,
    Limits,
}

/// (whether it could not start, pages in the log, pages copied so far)
async fn passive(pool: &AnyPool, schema: Schema) -> Result<(i64, i64, i64), sqlx::Error> {
    let sql = match schema {
        Schema::Main => "PRAGMA main.wal_checkpoint(PASSIVE)",
        Schema::Limits => "PRAGMA limits.wal_checkpoint(PASSIVE)",
    };
    sqlx::query_as(sql).fetch_one(pool).await
}
