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

CREATE FUNCTION bump_round_version_of_group(changed_group BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO round_versions (round_id, version)
    SELECT g.round_id, 1 FROM round_groups g WHERE g.id = changed_group
    ON CONFLICT (round_id) DO UPDATE SET version = round_versions.version + 1;
$$;

CREATE FUNCTION rounds_bump_round_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO round_versions (round_id, version) VALUES (NEW.id, 1)
    ON CONFLICT (round_id) DO UPDATE SET version = round_versions.version + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER rounds_update_bump_round_version AFTER UPDATE ON rounds
FOR EACH ROW EXECUTE FUNCTION rounds_bump_round_version();

-- For rows carrying a group_id: placements, answers and the pairs of a trio who met. A row
-- moved from one group to another changes both rounds.
CREATE FUNCTION group_row_bump_round_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM bump_round_version_of_group(OLD.group_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.group_id <> OLD.group_id) THEN
        PERFORM bump_round_version_of_group(NEW.group_id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER placements_bump_round_version
AFTER INSERT OR UPDATE OR DELETE ON round_group_members
FOR EACH ROW EXECUTE FUNCTION group_row_bump_round_version();

CREATE TRIGGER feedback_bump_round_version AFTER INSERT OR DELETE ON feedback
FOR EACH ROW EXECUTE FUNCTION group_row_bump_round_version();

CREATE TRIGGER feedback_update_bump_round_version
AFTER UPDATE OF outcome, rating, takeaway, share_consent, group_id, membership_id ON feedback
FOR EACH ROW EXECUTE FUNCTION group_row_bump_round_version();

CREATE TRIGGER met_pairs_bump_round_version AFTER INSERT OR DELETE ON feedback_met_pairs
FOR EACH ROW EXECUTE FUNCTION group_row_bump_round_version();

-- Placements and answers moved between memberships (an event sign-up folded into an earlier
-- one) must move the trial's version too, for the dashboard to look at the rounds at all.
CREATE TRIGGER placements_update_bump_version AFTER UPDATE ON round_group_members
FOR EACH ROW EXECUTE FUNCTION feedback_bump_version();

CREATE TRIGGER feedback_membership_bump_version AFTER UPDATE OF membership_id ON feedback
FOR EACH ROW EXECUTE FUNCTION feedback_bump_version();
