-- Scheduled slots whose draft an organiser discarded: the scheduler must not draw the slot up
-- again. (Deleting the draft alone would leave the slot looking as if it had never run.)
CREATE TABLE discarded_slots (
    trial_id BIGINT NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    slot TEXT NOT NULL,
    discarded_at TEXT NOT NULL,
    PRIMARY KEY (trial_id, slot)
);
