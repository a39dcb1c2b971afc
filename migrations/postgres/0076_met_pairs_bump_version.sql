-- Which pairs of a trio met ("some of us met") is saved after the answer itself and changes the
-- dashboard's connections, so it moves the trial's version too (the rows carry group_id, as
-- feedback's do).
CREATE TRIGGER feedback_met_pairs_bump_version AFTER INSERT OR DELETE ON feedback_met_pairs
FOR EACH ROW EXECUTE FUNCTION feedback_bump_version();
