-- Secrets that every instance of the service must share, such as the key that signs session
-- cookies. Created on first start; several instances on one database agree on the first one.
CREATE TABLE instance_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL
);
