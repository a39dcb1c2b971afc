-- Organisers choose which trials the front page lists. Off for every trial, old and new, until
-- an organiser ticks it: a trial open for sign-up may be meant for one team only, and should
-- not be advertised to the whole organisation without someone deciding so.
ALTER TABLE trials ADD COLUMN show_on_home BIGINT NOT NULL DEFAULT 0;

-- The participants list filters on "email problems" (a delivery that failed for good) per
-- person: an index over the failed messages alone keeps that a lookup per person, however
-- many sent messages the outbox keeps.
CREATE INDEX outbox_failed_by_participant_idx ON outbox (participant_id, id) WHERE state = 'failed';
