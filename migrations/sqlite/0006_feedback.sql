-- Feedback emails and "still in?" requests. Each row is written in the same transaction as the
-- email it stands for, and its key makes that email go once even with several instances.

-- One feedback email per member of a group of a published round.
CREATE TABLE feedback_requests (
    group_id BIGINT NOT NULL REFERENCES round_groups (id) ON DELETE CASCADE,
    membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (group_id, membership_id)
);
CREATE INDEX feedback_requests_by_membership ON feedback_requests (membership_id, sent_at);

-- A "still in?" email after several unanswered feedback emails. trigger_group_id is the most
-- recent unanswered group of that run of silence, so one run asks once.
CREATE TABLE still_in_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    trigger_group_id BIGINT NOT NULL REFERENCES round_groups (id) ON DELETE CASCADE,
    sent_at TEXT NOT NULL,
    answer TEXT CHECK (answer IN ('stay', 'pause', 'leave', 'no_answer')),
    answered_at TEXT,
    UNIQUE (membership_id, trigger_group_id)
);
CREATE INDEX still_in_requests_open ON still_in_requests (answer, sent_at);
