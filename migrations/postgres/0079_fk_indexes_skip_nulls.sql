-- Three foreign keys are NULL on most of their rows: a sign-up's links belong to a membership,
-- not to a round's group or an organiser, and its confirmation email to no round. Their
-- indexes still took an entry for every NULL, written with every sign-up (six of them for its
-- three links, one for its email) and again with every change of an email's state. The
-- indexes now hold the rows that have a value; a lookup or a cascade by a value (`= ?`)
-- implies it is not NULL, so both databases still use them.
DROP INDEX one_time_tokens_group_id_idx;
CREATE INDEX one_time_tokens_group_id_idx ON one_time_tokens (group_id) WHERE group_id IS NOT NULL;
DROP INDEX one_time_tokens_organiser_id_idx;
CREATE INDEX one_time_tokens_organiser_id_idx ON one_time_tokens (organiser_id) WHERE organiser_id IS NOT NULL;
DROP INDEX outbox_round_id_idx;
CREATE INDEX outbox_round_id_idx ON outbox (round_id) WHERE round_id IS NOT NULL;
