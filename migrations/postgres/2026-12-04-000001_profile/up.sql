-- The profile: a display name, the user's own JSON object, the flag of an
-- account whose password an admin chose, and the last sign-in. The domain
-- bounds name and metadata; the checks keep a stray write from breaking
-- them.
ALTER TABLE users
    ADD COLUMN name text CHECK (char_length(name) BETWEEN 1 AND 100),
    ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(metadata) = 'object'),
    ADD COLUMN password_must_change boolean NOT NULL DEFAULT false,
    ADD COLUMN last_sign_in_at timestamptz;

-- The admin's search by any part of an email (`GET /v1/admin/users?email=`):
-- a trigram index serves `LIKE '%fragment%'` wherever the fragment falls,
-- which no b-tree (not even one on a prefix) can. pg_trgm ships with
-- PostgreSQL and is a trusted extension: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops);
