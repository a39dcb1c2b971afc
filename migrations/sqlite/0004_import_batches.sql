-- A CSV upload between its preview and the organiser's go-ahead. The checked file is kept as
-- text so that the import re-reads exactly what the preview showed; nothing else is saved
-- until the import runs, in one transaction.
CREATE TABLE import_batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id TEXT NOT NULL UNIQUE,
    trial_id BIGINT NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    content TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'previewed' CHECK (state IN ('previewed', 'importing', 'imported', 'failed')),
    added BIGINT NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    finished_at TEXT
);
