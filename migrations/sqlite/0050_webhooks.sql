-- Webhooks (issue 19): endpoints an organiser registers for a trial, and the deliveries the
-- changes they subscribe to leave behind, written in the same transaction as the change.

-- `kind` is `webhook` (signed, Standard Webhooks) or a chat product (`slack`, `mattermost`,
-- `teams`), which gets only a short announcement of each published round. `events` is a
-- comma-separated list. `secret` is the `whsec_` signing key: it signs every delivery, so it
-- cannot be stored as a hash; it is shown to the organiser once and never again.
CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trial_id BIGINT NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('webhook', 'slack', 'mattermost', 'teams')),
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    events TEXT NOT NULL,
    personal_data BIGINT NOT NULL DEFAULT 0,
    secret TEXT NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 1,
    -- Since when every attempt has failed (NULL while it works); long enough switches it off.
    failing_since TEXT,
    disabled_at TEXT,
    last_attempt_at TEXT,
    last_status BIGINT,
    last_answer TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_by_trial ON webhook_endpoints (trial_id);

-- The delivery outbox: `body` is the exact JSON sent (and signed) on every attempt, and
-- `message_id` the stable `webhook-id` receivers use to drop duplicates.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    last_status BIGINT,
    last_answer TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX webhook_deliveries_waiting ON webhook_deliveries (next_attempt_at, id) WHERE state IN ('queued', 'sending');
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, id);
