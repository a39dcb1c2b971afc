-- A counter per trial that moves whenever something the dashboard's figures are computed from
-- changes: a round is created, published or discarded, an answer is given or changed, or a
-- member's grouping value changes. The triggers bump it inside the very transaction that makes
-- the change, so a figure cached under a version can never outlive what it was computed from.
-- No foreign key: the triggers also fire while a trial is being deleted. Trial ids are never
-- reused (AUTOINCREMENT / IDENTITY), so a leftover row misleads nobody.
CREATE TABLE trial_versions (
    trial_id BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (trial_id)
);

CREATE TRIGGER rounds_insert_bump_version AFTER INSERT ON rounds BEGIN
    INSERT INTO trial_versions (trial_id, version) VALUES (NEW.trial_id, 1)
    ON CONFLICT (trial_id) DO UPDATE SET version = trial_versions.version + 1;
END;

CREATE TRIGGER rounds_update_bump_version AFTER UPDATE ON rounds BEGIN
    INSERT INTO trial_versions (trial_id, version) VALUES (NEW.trial_id, 1)
    ON CONFLICT (trial_id) DO UPDATE SET version = trial_versions.version + 1;
END;

CREATE TRIGGER rounds_delete_bump_version AFTER DELETE ON rounds BEGIN
    INSERT INTO trial_versions (trial_id, version) VALUES (OLD.trial_id, 1)
    ON CONFLICT (trial_id) DO UPDATE SET version = trial_versions.version + 1;
END;

CREATE TRIGGER feedback_insert_bump_version AFTER INSERT ON feedback BEGIN
    INSERT INTO trial_versions (trial_id, version)
    SELECT r.trial_id, 1 FROM round_groups g JOIN rounds r ON r.id = g.round_id
    WHERE g.id = NEW.group_id
    ON CONFLICT (trial_id) DO UPDATE SET version = trial_versions.version + 1;
END;

CREATE TRIGGER feedback_update_bump_version
AFTER UPDATE OF outcome, rating, takeaway, share_consent, group_id ON feedback BEGIN
    INSERT INTO trial_versions (trial_id, version)
    SELECT r.trial_id, 1 FROM round_groups g JOIN rounds r ON r.id = g.round_id
    WHERE g.id = NEW.group_id
    ON CONFLICT (trial_id) DO UPDATE SET version = trial_versions.version + 1;
END;

CREATE TRIGGER feedback_delete_bump_version AFTER DELETE ON feedback BEGIN
    INSERT INTO trial_versions (trial_id, version)
    SELECT r.trial_id, 1 FROM round_groups g JOIN rounds r ON r.id = g.round_id
    WHERE g.id = OLD.group_id
    ON CONFLICT (trial_id) DO UPDATE SET version = trial_versions.version + 1;
END;

CREATE TRIGGER memberships_value_bump_version AFTER UPDATE OF attribute_value ON memberships
WHEN OLD.attribute_value IS NOT NEW.attribute_value BEGIN
    INSERT INTO trial_versions (trial_id, version) VALUES (NEW.trial_id, 1)
    ON CONFLICT (trial_id) DO UPDATE SET version = trial_versions.version + 1;
END;

CREATE TRIGGER memberships_delete_bump_version AFTER DELETE ON memberships BEGIN
    INSERT INTO trial_versions (trial_id, version) VALUES (OLD.trial_id, 1)
    ON CONFLICT (trial_id) DO UPDATE SET version = trial_versions.version + 1;
END;
