-- At an event, going home early is not leaving the trial: the person is no longer paired in
-- quick rounds, but still gets the summary afterwards, and an organiser's tick undoes it.
ALTER TABLE memberships ADD COLUMN left_room_at TEXT;
