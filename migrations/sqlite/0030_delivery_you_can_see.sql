-- Delivery an operator can trust and see (issue 16).

-- The senders' claim reads only messages still waiting or being sent: an index over those
-- rows alone, so that its cost does not grow with the sent messages kept in the table.
CREATE INDEX outbox_waiting_idx ON outbox (next_attempt_at, id) WHERE state IN ('queued', 'sending');

-- One row (id 1): since when delivery has been failing (NULL while it works) and the latest
-- error, for the outbox page. Written only when delivery starts failing or recovers.
CREATE TABLE delivery_status (
    id BIGINT NOT NULL PRIMARY KEY,
    failing_since TEXT,
    last_error TEXT,
    updated_at TEXT NOT NULL
);

-- An import runs in chunks, each saving its people, their confirmation emails and the
-- progress below together; an interrupted import is finished by running it again.
ALTER TABLE import_batches ADD COLUMN total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_batches ADD COLUMN done BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_batches ADD COLUMN consent BIGINT NOT NULL DEFAULT 0;
-- Written with every chunk: an `importing` batch whose heartbeat is old was interrupted.
ALTER TABLE import_batches ADD COLUMN heartbeat_at TEXT;
