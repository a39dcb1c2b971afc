-- The rate-limit counters move to a file of their own beside the database, attached to every
-- connection as `limits` (src/store/limits_file.rs), because their scattered writes slowed the
-- checkpoints of this one. The counts of the current windows come along.
INSERT OR IGNORE INTO limits.rate_limits (key, window_start, hits, last_hit_ms, expires_at)
SELECT key, window_start, hits, last_hit_ms, expires_at FROM main.rate_limits;
DROP TABLE main.rate_limits;
