-- Which pairs of a trio met ("some of us met") is saved after the answer itself and changes the
-- dashboard's connections, so it moves the trial's version too.
CREATE TRIGGER feedback_met_pairs_insert_bump_version AFTER INSERT ON feedback_met_pairs BEGIN
    INSERT INTO trial_versions (trial_id, version)
    SELECT r.trial_id, 1 FROM round_groups g JOIN rounds r ON r.id = g.round_id
    WHERE g.id = NEW.group_id
    ON CONFLICT (trial_id) DO UPDATE SET version = trial_versions.version + 1;
END;

CREATE TRIGGER feedback_met_pairs_delete_bump_version AFTER DELETE ON feedback_met_pairs BEGIN
    INSERT INTO trial_versions (trial_id, version)
    SELECT r.trial_id, 1 FROM round_groups g JOIN rounds r ON r.id = g.round_id
    WHERE g.id = OLD.group_id
    ON CONFLICT (trial_id) DO UPDATE SET version = trial_versions.version + 1;
END;
