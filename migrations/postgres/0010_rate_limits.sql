-- Counters for rate limits (sign-ins, sign-ups), shared by every instance on this database.
-- One row per key and fixed window; `key` is a keyed hash, never a raw address. Rows whose
-- `expires_at` has passed are no longer read and are deleted from time to time.
CREATE TABLE rate_limits (
    key TEXT NOT NULL,
    -- Unix seconds at which the window began.
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    -- Unix milliseconds of the latest hit, for back-off after failed sign-ins.
    last_hit_ms BIGINT NOT NULL,
    -- Unix seconds after which the row is of no use.
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limits_expires_at ON rate_limits (expires_at);
