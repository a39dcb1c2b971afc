-- A counter per round beside the trial's one (0075): it moves with every change to what one
-- round's figures are computed from (the round itself, who was placed in it, its answers and
-- the pairs of a trio who met). The dashboard keeps each round's figures under its version,
-- so an answer about round 50 recomputes round 50 only. No foreign key, as for trial_versions:
-- the triggers also fire while a round is being deleted, and round ids are never reused.
CREATE TABLE round_versions (
    round_id BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (round_id)
);

CREATE TRIGGER rounds_update_bump_round_version AFTER UPDATE ON rounds BEGIN
    INSERT INTO round_versions (round_id, version) VALUES (NEW.id, 1)
    ON CONFLICT (round_id) DO UPDATE SET version = round_versions.version + 1;
END;

CREATE TRIGGER placements_insert_bump_round_version AFTER INSERT ON round_group_members BEGIN
    INSERT INTO round_versions (round_id, version)
    SELECT g.round_id, 1 FROM round_groups g WHERE g.id = NEW.group_id
    ON CONFLICT (round_id) DO UPDATE SET version = round_versions.version + 1;
END;

CREATE TRIGGER placements_update_bump_round_version AFTER UPDATE ON round_group_members BEGIN
    INSERT INTO round_versions (round_id, version)
    SELECT g.round_id, 1 FROM round_groups g WHERE g.id IN (OLD.group_id, NEW.group_id)
    ON CONFLICT (round_id) DO UPDATE SET version = round_versions.version + 1;
END;

CREATE TRIGGER placements_delete_bump_round_version AFTER DELETE ON round_group_members BEGIN
    INSERT INTO round_versions (round_id, version)
    SELECT g.round_id, 1 FROM round_groups g WHERE g.id = OLD.group_id
    ON CONFLICT (round_id) DO UPDATE SET version = round_versions.version + 1;
END;

CREATE TRIGGER feedback_insert_bump_round_version AFTER INSERT ON feedback BEGIN
    INSERT INTO round_versions (round_id, version)
    SELECT g.round_id, 1 FROM round_groups g WHERE g.id = NEW.group_id
    ON CONFLICT (round_id) DO UPDATE SET version = round_versions.version + 1;
END;

CREATE TRIGGER feedback_update_bump_round_version
AFTER UPDATE OF outcome, rating, takeaway, share_consent, group_id, membership_id ON feedback
BEGIN
    INSERT INTO round_versions (round_id, version)
    SELECT g.round_id, 1 FROM round_groups g WHERE g.id IN (OLD.group_id, NEW.group_id)
    ON CONFLICT (round_id) DO UPDATE SET version = round_versions.version + 1;
END;

CREATE TRIGGER feedback_delete_bump_round_version AFTER DELETE ON feedback BEGIN
    INSERT INTO round_versions (round_id, version)
    SELECT g.round_id, 1 FROM round_groups g WHERE g.id = OLD.group_id
    ON CONFLICT (round_id) DO UPDATE SET version = round_versions.version + 1;
END;

CREATE TRIGGER met_pairs_insert_bump_round_version AFTER INSERT ON feedback_met_pairs BEGIN
    INSERT INTO round_versions (round_id, version)
    SELECT g.round_id, 1 FROM round_groups g WHERE g.id = NEW.group_id
    ON CONFLICT (round_id) DO UPDATE SET version = round_versions.version + 1;
END;

CREATE TRIGGER met_pairs_delete_bump_round_version AFTER DELETE ON feedback_met_pairs BEGIN
    INSERT INTO round_versions (round_id, version)
    SELECT g.round_id, 1 FROM round_groups g WHERE g.id = OLD.group_id
    ON CONFLICT (round_id) DO UPDATE SET version = round_versions.version + 1;
END;

-- Feedback moved between memberships (an event sign-up folded into an earlier one) changes
-- placements and answers without a new version of the trial otherwise; the round versions
-- above cover it, and the trial's version must move too for the dashboard to look.
CREATE TRIGGER placements_update_bump_version AFTER UPDATE ON round_group_members BEGIN
    INSERT INTO trial_versions (trial_id, version)
    SELECT r.trial_id, 1 FROM round_groups g JOIN rounds r ON r.id = g.round_id
    WHERE g.id = NEW.group_id
    ON CONFLICT (trial_id) DO UPDATE SET version = trial_versions.version + 1;
END;

CREATE TRIGGER feedback_membership_bump_version AFTER UPDATE OF membership_id ON feedback BEGIN
    INSERT INTO trial_versions (trial_id, version)
    SELECT r.trial_id, 1 FROM round_groups g JOIN rounds r ON r.id = g.round_id
    WHERE g.id = NEW.group_id
    ON CONFLICT (trial_id) DO UPDATE SET version = trial_versions.version + 1;
END;
