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

CREATE FUNCTION bump_trial_version(changed_trial BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO trial_versions (trial_id, version) VALUES (changed_trial, 1)
    ON CONFLICT (trial_id) DO UPDATE SET version = trial_versions.version + 1;
$$;

CREATE FUNCTION rounds_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM bump_trial_version(OLD.trial_id);
    ELSE
        PERFORM bump_trial_version(NEW.trial_id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER rounds_bump_version AFTER INSERT OR UPDATE OR DELETE ON rounds
FOR EACH ROW EXECUTE FUNCTION rounds_bump_version();

CREATE FUNCTION feedback_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed_group BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed_group := OLD.group_id;
    ELSE
        changed_group := NEW.group_id;
    END IF;
    PERFORM bump_trial_version(r.trial_id)
    FROM round_groups g JOIN rounds r ON r.id = g.round_id WHERE g.id = changed_group;
    RETURN NULL;
END;
$$;

CREATE TRIGGER feedback_insert_bump_version AFTER INSERT OR DELETE ON feedback
FOR EACH ROW EXECUTE FUNCTION feedback_bump_version();

CREATE TRIGGER feedback_update_bump_version
AFTER UPDATE OF outcome, rating, takeaway, share_consent, group_id ON feedback
FOR EACH ROW EXECUTE FUNCTION feedback_bump_version();

CREATE FUNCTION memberships_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM bump_trial_version(OLD.trial_id);
    ELSE
        PERFORM bump_trial_version(NEW.trial_id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER memberships_value_bump_version AFTER UPDATE OF attribute_value ON memberships
FOR EACH ROW WHEN (OLD.attribute_value IS DISTINCT FROM NEW.attribute_value)
EXECUTE FUNCTION memberships_bump_version();

CREATE TRIGGER memberships_delete_bump_version AFTER DELETE ON memberships
FOR EACH ROW EXECUTE FUNCTION memberships_bump_version();
