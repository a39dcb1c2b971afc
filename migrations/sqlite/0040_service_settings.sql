-- Facts a running service records for the command line to check, such as the public address
-- (`base_url`) that `serve` puts in links, so a command run from another shell does not mail
-- out links to somewhere else.
CREATE TABLE service_settings (
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (name)
);
