-- Each published round's share of the dashboard's figures, as the service computed it (JSON),
-- under the round's version (0077). A restarted service, or a second instance on the same
-- database, reads them back for its first view of a dashboard instead of reading and computing
-- every round again (seconds at 10,000 people and 50 rounds). `format` names the layout and
-- the way of counting; a newer service ignores rows of another format and computes afresh.
--
-- The trigger deletes a round's stored figures in the transaction that moves its version, so
-- they never outlive the rows they were computed from: a shared note whose author was erased,
-- say, is not kept here until the next view.
CREATE TABLE round_figures (
    round_id BIGINT NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    format BIGINT NOT NULL,
    part TEXT NOT NULL,
    PRIMARY KEY (round_id)
);

CREATE FUNCTION round_versions_drop_figures() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM round_figures WHERE round_id = NEW.round_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER round_versions_drop_figures AFTER INSERT OR UPDATE ON round_versions
FOR EACH ROW EXECUTE FUNCTION round_versions_drop_figures();
