-- The participants list filters a trial's people by their history (paired or not, answered or
-- not). Asked row by row, "was this person in a group of a published round?" joined three
-- tables for each of a trial's people, and at 10,000 people and 50 rounds a filtered page took
-- 100 to 300 ms. Each membership now carries both counts, kept by triggers on every table they
-- come from, so a filter reads the row it is listing. The triggers live in the database rather
-- than in the code that writes, because rows also move in bulk (an event sign-up folded into
-- an earlier one, a draft redrawn) and a count that missed one would be silently wrong.
ALTER TABLE memberships ADD COLUMN paired_rounds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE memberships ADD COLUMN answers_given BIGINT NOT NULL DEFAULT 0;

UPDATE memberships SET
    paired_rounds = (SELECT COUNT(*) FROM round_group_members hm
        JOIN round_groups hg ON hg.id = hm.group_id JOIN rounds hr ON hr.id = hg.round_id
        WHERE hm.membership_id = memberships.id AND hr.state = 'published'),
    answers_given = (SELECT COUNT(*) FROM feedback hf WHERE hf.membership_id = memberships.id);

-- Adds `delta` to the paired count of `member` when `placed_group` belongs to a published
-- round. Only drafts are ever deleted, so a placement that disappears with its round (the
-- round row already gone) never counted.
CREATE FUNCTION count_paired(member BIGINT, placed_group BIGINT, delta BIGINT) RETURNS void
LANGUAGE sql AS $$
    UPDATE memberships SET paired_rounds = paired_rounds + delta
    WHERE id = member AND EXISTS (SELECT 1 FROM round_groups g
        JOIN rounds r ON r.id = g.round_id WHERE g.id = placed_group AND r.state = 'published');
$$;

CREATE FUNCTION placements_count_paired() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM count_paired(OLD.membership_id, OLD.group_id, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM count_paired(NEW.membership_id, NEW.group_id, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER placements_count_paired AFTER INSERT OR DELETE ON round_group_members
FOR EACH ROW EXECUTE FUNCTION placements_count_paired();

CREATE TRIGGER placements_update_count_paired
AFTER UPDATE OF group_id, membership_id ON round_group_members
FOR EACH ROW EXECUTE FUNCTION placements_count_paired();

-- Publishing a round counts everyone placed in it (and a round leaving that state, should it
-- ever, uncounts them).
CREATE FUNCTION rounds_state_count_paired() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE memberships m
    SET paired_rounds = m.paired_rounds
        + (CASE WHEN NEW.state = 'published' THEN 1 ELSE -1 END) * placed.n
    FROM (SELECT hm.membership_id, COUNT(*) AS n FROM round_group_members hm
          JOIN round_groups hg ON hg.id = hm.group_id WHERE hg.round_id = NEW.id
          GROUP BY hm.membership_id) placed
    WHERE m.id = placed.membership_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER rounds_state_count_paired AFTER UPDATE OF state ON rounds
FOR EACH ROW WHEN ((OLD.state = 'published') IS DISTINCT FROM (NEW.state = 'published'))
EXECUTE FUNCTION rounds_state_count_paired();

CREATE FUNCTION feedback_count_answers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE memberships SET answers_given = answers_given - 1 WHERE id = OLD.membership_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE memberships SET answers_given = answers_given + 1 WHERE id = NEW.membership_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER feedback_count_answers AFTER INSERT OR DELETE ON feedback
FOR EACH ROW EXECUTE FUNCTION feedback_count_answers();

CREATE TRIGGER feedback_update_count_answers AFTER UPDATE OF membership_id ON feedback
FOR EACH ROW WHEN (OLD.membership_id IS DISTINCT FROM NEW.membership_id)
EXECUTE FUNCTION feedback_count_answers();
