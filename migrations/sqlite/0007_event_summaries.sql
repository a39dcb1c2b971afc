-- The "everyone you met" email after an event. A row is written in the same transaction as the
-- email it stands for, and its key makes a second press of the button send nothing new.
CREATE TABLE event_summaries (
    trial_id BIGINT NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    sent_at TEXT NOT NULL,
    UNIQUE (trial_id, membership_id)
);
