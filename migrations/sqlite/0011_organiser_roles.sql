-- Roles: an admin manages everything; an organiser only the trials granted to them. Every
-- account that exists already becomes an admin, so nothing changes for current installs.
ALTER TABLE organisers ADD COLUMN is_admin BIGINT NOT NULL DEFAULT 0;
UPDATE organisers SET is_admin = 1;

-- Which organisers may see and change a trial (admins may see every trial without a row).
CREATE TABLE trial_organisers (
    trial_id BIGINT NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    organiser_id BIGINT NOT NULL REFERENCES organisers (id) ON DELETE CASCADE,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (trial_id, organiser_id)
);
CREATE INDEX trial_organisers_by_organiser ON trial_organisers (organiser_id);

-- An invitation says whether the new account is an admin.
ALTER TABLE one_time_tokens ADD COLUMN grants_admin BIGINT NOT NULL DEFAULT 0;

-- API tokens may stop working on a date chosen at creation.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
