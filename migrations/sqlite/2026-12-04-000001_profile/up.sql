-- The profile, as in PostgreSQL's migration of the same name (same
-- columns, so `gatehouse db copy` moves them by name).
ALTER TABLE users ADD COLUMN name TEXT CHECK (length(name) BETWEEN 1 AND 100);
ALTER TABLE users ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(metadata) AND json_type(metadata) = 'object');
ALTER TABLE users ADD COLUMN password_must_change INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_sign_in_at INTEGER;
