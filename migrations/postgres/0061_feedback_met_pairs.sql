-- "Some of us met", in a group of three: the pairs that the member answering says met. Only
-- these pairs count as connections; the group's other pair did not meet.
CREATE TABLE feedback_met_pairs (
    group_id BIGINT NOT NULL REFERENCES round_groups (id) ON DELETE CASCADE,
    membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    first_membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    second_membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, membership_id, first_membership_id, second_membership_id)
);
CREATE INDEX feedback_met_pairs_by_membership ON feedback_met_pairs (membership_id);
CREATE INDEX feedback_met_pairs_by_first ON feedback_met_pairs (first_membership_id);
CREATE INDEX feedback_met_pairs_by_second ON feedback_met_pairs (second_membership_id);
