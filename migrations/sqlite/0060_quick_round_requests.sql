-- The form key of the press that started a quick round. A second press of the same form (a
-- double click, two organisers on one page, a resent request) finds this round instead of
-- starting and emailing another.
CREATE TABLE round_requests (
    trial_id BIGINT NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    request_key TEXT NOT NULL,
    round_id BIGINT NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (trial_id, request_key)
);
CREATE INDEX round_requests_by_round ON round_requests (round_id);
