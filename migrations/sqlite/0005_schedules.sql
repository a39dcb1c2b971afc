-- Schedules. A schedule only runs slots after the moment it was saved, so saving one today
-- does not start rounds for last week.
ALTER TABLE trials ADD COLUMN schedule_since TEXT;

-- One row per (trial, slot) whose pre-round notice has been queued: the key makes "once" hold
-- across restarts and between instances, and the emails are written in the same transaction.
CREATE TABLE schedule_notices (
    trial_id BIGINT NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    slot TEXT NOT NULL,
    recipients BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (trial_id, slot)
);
