-- How rounds of a trial are run and emailed, beside the trial's own settings: whether in-person
-- pairs need the same site, when suggested meetings may fall (working days and hours in the
-- trial's time zone), and the midway nudge ('off', 'half' or a number of days as 'Nd').
CREATE TABLE trial_round_settings (
    trial_id BIGINT NOT NULL PRIMARY KEY REFERENCES trials (id) ON DELETE CASCADE,
    same_site_only BIGINT NOT NULL DEFAULT 0,
    slot_days TEXT NOT NULL DEFAULT 'mon,tue,wed,thu,fri',
    slot_start TEXT NOT NULL DEFAULT '10:00',
    slot_end TEXT NOT NULL DEFAULT '16:00',
    nudge TEXT NOT NULL DEFAULT 'off'
);

-- Who makes the first move in each group of a published round (written when it is published,
-- so that the next round can rotate).
CREATE TABLE group_first_movers (
    group_id BIGINT NOT NULL PRIMARY KEY REFERENCES round_groups (id) ON DELETE CASCADE,
    membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE
);
CREATE INDEX group_first_movers_by_membership ON group_first_movers (membership_id);

-- One midway nudge per member of a group, written in the same transaction as the email.
CREATE TABLE group_nudges (
    group_id BIGINT NOT NULL REFERENCES round_groups (id) ON DELETE CASCADE,
    membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (group_id, membership_id)
);
CREATE INDEX group_nudges_by_membership ON group_nudges (membership_id);

-- Each person a pre-round notice was queued for, so that people who confirm after the notice
-- went out (and before the round starts) get it too, once.
CREATE TABLE schedule_notice_recipients (
    trial_id BIGINT NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    slot TEXT NOT NULL,
    membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (trial_id, slot, membership_id)
);
CREATE INDEX schedule_notice_recipients_by_membership ON schedule_notice_recipients (membership_id);
