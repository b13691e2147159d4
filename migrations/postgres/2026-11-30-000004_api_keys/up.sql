-- Keys for scripts and services that act as one user. Only the SHA-256
-- digest of a key is kept, and a short display prefix (`gk_` and 9
-- characters) so that the user can tell keys apart.
CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    digest       bytea       NOT NULL UNIQUE CHECK (octet_length(digest) = 32),
    prefix       text        NOT NULL CHECK (char_length(prefix) = 12),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CHECK (expires_at IS NULL OR expires_at > created_at)
);
-- Listing and counting a user's live keys.
CREATE INDEX api_keys_user_live_idx ON api_keys (user_id) WHERE revoked_at IS NULL;
