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

-- A placement counts while its round is published. Only drafts are ever deleted, so a
-- placement that disappears with its round (the round row already gone) never counted.
CREATE TRIGGER placements_insert_count_paired AFTER INSERT ON round_group_members BEGIN
    UPDATE memberships SET paired_rounds = paired_rounds + 1
    WHERE id = NEW.membership_id AND EXISTS (SELECT 1 FROM round_groups g
        JOIN rounds r ON r.id = g.round_id WHERE g.id = NEW.group_id AND r.state = 'published');
END;

CREATE TRIGGER placements_delete_count_paired AFTER DELETE ON round_group_members BEGIN
    UPDATE memberships SET paired_rounds = paired_rounds - 1
    WHERE id = OLD.membership_id AND EXISTS (SELECT 1 FROM round_groups g
        JOIN rounds r ON r.id = g.round_id WHERE g.id = OLD.group_id AND r.state = 'published');
END;

CREATE TRIGGER placements_update_count_paired
AFTER UPDATE OF group_id, membership_id ON round_group_members BEGIN
    UPDATE memberships SET paired_rounds = paired_rounds - 1
    WHERE id = OLD.membership_id AND EXISTS (SELECT 1 FROM round_groups g
        JOIN rounds r ON r.id = g.round_id WHERE g.id = OLD.group_id AND r.state = 'published');
    UPDATE memberships SET paired_rounds = paired_rounds + 1
    WHERE id = NEW.membership_id AND EXISTS (SELECT 1 FROM round_groups g
        JOIN rounds r ON r.id = g.round_id WHERE g.id = NEW.group_id AND r.state = 'published');
END;

-- Publishing a round counts everyone placed in it (and a round leaving that state, should it
-- ever, uncounts them).
CREATE TRIGGER rounds_state_count_paired AFTER UPDATE OF state ON rounds
WHEN (OLD.state = 'published') <> (NEW.state = 'published') BEGIN
    UPDATE memberships
    SET paired_rounds = paired_rounds + (CASE WHEN NEW.state = 'published' THEN 1 ELSE -1 END)
        * (SELECT COUNT(*) FROM round_group_members hm JOIN round_groups hg ON hg.id = hm.group_id
           WHERE hg.round_id = NEW.id AND hm.membership_id = memberships.id)
    WHERE id IN (SELECT hm.membership_id FROM round_group_members hm
        JOIN round_groups hg ON hg.id = hm.group_id WHERE hg.round_id = NEW.id);
END;

CREATE TRIGGER feedback_insert_count_answers AFTER INSERT ON feedback BEGIN
    UPDATE memberships SET answers_given = answers_given + 1 WHERE id = NEW.membership_id;
END;

CREATE TRIGGER feedback_delete_count_answers AFTER DELETE ON feedback BEGIN
    UPDATE memberships SET answers_given = answers_given - 1 WHERE id = OLD.membership_id;
END;

CREATE TRIGGER feedback_update_count_answers AFTER UPDATE OF membership_id ON feedback
WHEN OLD.membership_id <> NEW.membership_id BEGIN
    UPDATE memberships SET answers_given = answers_given - 1 WHERE id = OLD.membership_id;
    UPDATE memberships SET answers_given = answers_given + 1 WHERE id = NEW.membership_id;
END;
