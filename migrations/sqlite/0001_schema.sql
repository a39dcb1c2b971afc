-- The first schema: the nouns of the product. Timestamps are UTC text (RFC 3339, microseconds, 'Z');
-- flags are BIGINT 0/1. The PostgreSQL twin of this file differs only in how ids are generated.

CREATE TABLE trials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'programme' CHECK (kind IN ('programme', 'event')),
    attribute_name TEXT NOT NULL DEFAULT 'Department',
    attribute_values TEXT NOT NULL DEFAULT '',
    never_together_attribute TEXT,
    group_size BIGINT NOT NULL DEFAULT 2,
    open_for_signup BIGINT NOT NULL DEFAULT 1,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    schedule TEXT,
    auto_publish BIGINT NOT NULL DEFAULT 0,
    notice_hours BIGINT NOT NULL DEFAULT 48,
    feedback_delay_days BIGINT NOT NULL DEFAULT 7,
    event_date TEXT,
    event_place TEXT,
    event_planned_rounds BIGINT,
    event_round_minutes BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE participants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id TEXT NOT NULL UNIQUE,
    email TEXT UNIQUE,
    name TEXT NOT NULL,
    needs_attention TEXT,
    erased_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE memberships (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id TEXT NOT NULL UNIQUE,
    trial_id BIGINT NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'active', 'paused', 'left', 'erased')),
    attribute_value TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT '',
    site TEXT NOT NULL DEFAULT '',
    team TEXT NOT NULL DEFAULT '',
    meeting_modes TEXT NOT NULL DEFAULT '',
    introduction TEXT NOT NULL DEFAULT '',
    paused_until TEXT,
    skip_next_round BIGINT NOT NULL DEFAULT 0,
    consent_at TEXT,
    confirmed_at TEXT,
    checked_in_at TEXT,
    left_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (trial_id, participant_id)
);
CREATE INDEX memberships_by_trial_state ON memberships (trial_id, state);

-- A participant's private list of people they should not be paired with.
CREATE TABLE do_not_pair (
    membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    other_membership_id BIGINT NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (membership_id, other_membership_id)
);

CREATE TABLE rounds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trial_id BIGINT NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'manual' CHECK (kind IN ('manual', 'scheduled', 'quick')),
    state TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published')),
    seed TEXT NOT NULL,
    slot TEXT,
    created_at TEXT NOT NULL,
    published_at TEXT,
    UNIQUE (trial_id, number),
    UNIQUE (trial_id, slot)
);

CREATE TABLE round_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    round_id BIGINT NOT NULL REFERENCES rounds (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    table_label TEXT,
    UNIQUE (round_id, position)
);

CREATE TABLE round_group_members (
    group_id BIGINT NOT NULL REFERENCES round_groups (id) ON DELETE CASCADE,
    membership_id BIGINT NOT NULL REFERENCES memberships (id),
    PRIMARY KEY (group_id, membership_id)
);
CREATE INDEX round_group_members_by_membership ON round_group_members (membership_id);

CREATE TABLE feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id BIGINT NOT NULL REFERENCES round_groups (id) ON DELETE CASCADE,
    membership_id BIGINT NOT NULL REFERENCES memberships (id),
    outcome TEXT NOT NULL CHECK (outcome IN ('met', 'some_met', 'not_yet', 'could_not_meet')),
    rating BIGINT CHECK (rating BETWEEN 1 AND 5),
    takeaway TEXT NOT NULL DEFAULT '',
    share_consent BIGINT NOT NULL DEFAULT 0,
    asked_again_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (group_id, membership_id)
);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    template TEXT NOT NULL,
    to_address TEXT NOT NULL,
    participant_id BIGINT REFERENCES participants (id),
    round_id BIGINT REFERENCES rounds (id),
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    headers_json TEXT NOT NULL DEFAULT '{}',
    attachments_json TEXT NOT NULL DEFAULT '[]',
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TABLE techniques (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('before', 'during', 'after')),
    position BIGINT NOT NULL,
    summary TEXT NOT NULL,
    duration_min_minutes BIGINT NOT NULL,
    duration_max_minutes BIGINT NOT NULL,
    people_min BIGINT NOT NULL,
    people_max BIGINT,
    body_md TEXT NOT NULL,
    is_builtin BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE organisers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_login_at TEXT,
    disabled_at TEXT
);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    organiser_id BIGINT NOT NULL REFERENCES organisers (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organiser_id BIGINT NOT NULL REFERENCES organisers (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT
);

-- Links sent by email or printed at set-up: set-up, invitation, confirm, manage, feedback,
-- unsubscribe, skip. Only the hash of the token is kept.
CREATE TABLE one_time_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    purpose TEXT NOT NULL,
    organiser_id BIGINT REFERENCES organisers (id) ON DELETE CASCADE,
    membership_id BIGINT REFERENCES memberships (id) ON DELETE CASCADE,
    group_id BIGINT REFERENCES round_groups (id) ON DELETE CASCADE,
    email TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
