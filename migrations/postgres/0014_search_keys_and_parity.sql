-- Participant search folds case in Rust (store::search) so that it answers alike on both
-- backends. The key stays NULL here for existing rows: SQLite's LOWER folds only ASCII, so
-- the application computes it when it next starts (Store::migrate, after the migrations).
ALTER TABLE participants ADD COLUMN search_key TEXT;

-- An index for every foreign key not already leading one (found by the schema parity test):
-- deleting a parent row, or finding a parent's children, then needs no scan of the child.
CREATE INDEX api_tokens_organiser_id_idx ON api_tokens (organiser_id);
CREATE INDEX do_not_pair_other_membership_id_idx ON do_not_pair (other_membership_id);
CREATE INDEX event_summaries_membership_id_idx ON event_summaries (membership_id);
CREATE INDEX feedback_membership_id_idx ON feedback (membership_id);
CREATE INDEX import_batches_trial_id_idx ON import_batches (trial_id);
CREATE INDEX memberships_participant_id_idx ON memberships (participant_id);
CREATE INDEX one_time_tokens_group_id_idx ON one_time_tokens (group_id);
CREATE INDEX one_time_tokens_membership_id_idx ON one_time_tokens (membership_id);
CREATE INDEX one_time_tokens_organiser_id_idx ON one_time_tokens (organiser_id);
CREATE INDEX outbox_participant_id_idx ON outbox (participant_id);
CREATE INDEX outbox_round_id_idx ON outbox (round_id);
CREATE INDEX sessions_organiser_id_idx ON sessions (organiser_id);
CREATE INDEX still_in_requests_trigger_group_id_idx ON still_in_requests (trigger_group_id);

-- (The SQLite migration also makes instance_secrets.name NOT NULL, as it already is here.)
