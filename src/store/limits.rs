//! Rate-limit counters: one row per key and fixed window, so that every instance on the
//! database sees the same counts. The same SQL serves both backends.
use sqlx::{Any, Executor};

use super::{Store, StoreError};

/// One window's count for a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct WindowCount {
    pub window_start: i64,
    pub hits: i64,
    pub last_hit_ms: i64,
}

/// Adds one hit to `key` in the window starting at `window_start` and returns the window's
/// count including it. One statement, so concurrent hits from several instances all count.
pub async fn count_hit<'c, E: Executor<'c, Database = Any>>(
    executor: E,
    key: &str,
    window_start: i64,
    expires_at: i64,
    now_ms: i64,
) -> Result<i64, StoreError> {
    let (hits,): (i64,) = sqlx::query_as(
        "INSERT INTO rate_limits (key, window_start, hits, last_hit_ms, expires_at) \
         VALUES ($1, $2, 1, $3, $4) \
         ON CONFLICT (key, window_start) \
         DO UPDATE SET hits = rate_limits.hits + 1, last_hit_ms = $3 \
         RETURNING hits",
    )
    .bind(key)
    .bind(window_start)
    .bind(now_ms)
    .bind(expires_at)
    .fetch_one(executor)
    .await?;
    Ok(hits)
}

/// A key's count in the current window right after a hit, with the previous window's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct HitCounts {
    pub hits: i64,
    pub previous_hits: Option<i64>,
    pub previous_last_hit_ms: Option<i64>,
}

/// Adds one hit (see [`count_hit`]) and reads the previous window (`previous_start`) in the
/// same statement: one round trip and one short write per limited request, whatever the size
/// of the table. Through the writer, or inside the caller's transaction.
pub async fn count_hit_and_previous<'c, E: Executor<'c, Database = Any>>(
    executor: E,
    key: &str,
    window_start: i64,
    previous_start: i64,
    expires_at: i64,
    now_ms: i64,
) -> Result<HitCounts, StoreError> {
    Ok(sqlx::query_as(
        "INSERT INTO rate_limits (key, window_start, hits, last_hit_ms, expires_at) \
         VALUES ($1, $2, 1, $3, $4) \
         ON CONFLICT (key, window_start) \
         DO UPDATE SET hits = rate_limits.hits + 1, last_hit_ms = $3 \
         RETURNING hits, \
           (SELECT p.hits FROM rate_limits p \
            WHERE p.key = $1 AND p.window_start = $5) AS previous_hits, \
           (SELECT p.last_hit_ms FROM rate_limits p \
            WHERE p.key = $1 AND p.window_start = $5) AS previous_last_hit_ms",
    )
    .bind(key)
    .bind(window_start)
    .bind(now_ms)
    .bind(expires_at)
    .bind(previous_start)
    .fetch_one(executor)
    .await?)
}

impl Store {
    /// Adds one hit; see [`count_hit`].
    pub async fn count_rate_limit_hit(
        &self,
        key: &str,
        window_start: i64,
        expires_at: i64,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        count_hit(self.writer(), key, window_start, expires_at, now_ms).await
    }

    /// The counts of `key` in the windows that started at or after `since`.
    pub async fn rate_limit_windows(
        &self,
        key: &str,
        since: i64,
    ) -> Result<Vec<WindowCount>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT window_start, hits, last_hit_ms FROM rate_limits \
             WHERE key = $1 AND window_start >= $2",
        )
        .bind(key)
        .bind(since)
        .fetch_all(self.pool())
        .await?)
    }

    /// Forgets every window of `key` (a successful sign-in clears its failures).
    pub async fn forget_rate_limit_key(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM rate_limits WHERE key = $1")
            .bind(key)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Deletes the windows that no limit reads any more; returns how many.
    pub async fn delete_expired_rate_limits(&self, now: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM rate_limits WHERE expires_at <= $1")
                .bind(now)
                .execute(self.writer())
                .await?
                .rows_affected(),
        )
    }

    /// How many rows the table holds (for tests and the curious operator).
    pub async fn count_rate_limit_rows(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM rate_limits")
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }
}
