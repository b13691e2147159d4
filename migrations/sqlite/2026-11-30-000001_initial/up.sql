-- The embedded store's schema: the same tables and columns as PostgreSQL's
-- (so `gatehouse db copy` moves rows by name), in SQLite's types. STRICT
-- tables refuse a value of the wrong type. Ids are UUIDs as text,
-- instants are microseconds since the Unix epoch (integers compare and
-- index exactly), byte strings are blobs, booleans 0 or 1, JSON is text.

-- Emails are stored normalised (trimmed, lower-cased) by the application,
-- which is the only writer: the unique index is on the column itself.
CREATE TABLE users (
    id                TEXT    PRIMARY KEY NOT NULL,
    email             TEXT    NOT NULL UNIQUE CHECK (email = trim(email) AND length(email) BETWEEN 3 AND 254),
    password_hash     TEXT    NOT NULL,
    role              TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    email_verified_at INTEGER,
    disabled_at       INTEGER,
    mfa_enabled       INTEGER NOT NULL DEFAULT 0 CHECK (mfa_enabled IN (0, 1)),
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    -- TOTP: the sealed secret in use, the sealed secret awaiting its first
    -- code, and the last step spent (each code is good once).
    totp_secret       BLOB,
    totp_pending      BLOB,
    totp_last_step    INTEGER,
    CHECK (mfa_enabled = (totp_secret IS NOT NULL))
) STRICT;

-- A session is one refresh-token family. `amr` is a JSON array of strings.
CREATE TABLE sessions (
    id            TEXT    PRIMARY KEY NOT NULL,
    user_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    revoke_reason TEXT,
    amr           TEXT    NOT NULL CHECK (json_valid(amr) AND json_type(amr) = 'array'),
    ip            TEXT,
    user_agent    TEXT,
    CHECK (expires_at > created_at),
    CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
) STRICT;
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Only digests are stored; a rotated token keeps its successor sealed under
-- a key derived from itself, to answer retries within the grace period.
CREATE TABLE refresh_tokens (
    id               TEXT    PRIMARY KEY NOT NULL,
    session_id       TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    digest           BLOB    NOT NULL UNIQUE CHECK (length(digest) = 32),
    issued_at        INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    rotated_at       INTEGER,
    sealed_successor BLOB,
    CHECK (sealed_successor IS NULL OR rotated_at IS NOT NULL)
) STRICT;
-- The family never forks: at most one unrotated token per session,
-- enforced by the database whatever the application does.
CREATE UNIQUE INDEX refresh_tokens_one_current_per_session
    ON refresh_tokens (session_id) WHERE rotated_at IS NULL;
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_kept_successor_idx ON refresh_tokens (rotated_at)
    WHERE sealed_successor IS NOT NULL;

-- The audit trail outlives accounts, so user_id has no foreign key.
CREATE TABLE audit_events (
    id         TEXT    PRIMARY KEY NOT NULL,
    at         INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    user_id    TEXT,
    ip         TEXT,
    user_agent TEXT,
    detail     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
) STRICT;
CREATE INDEX audit_events_at_idx ON audit_events (at DESC, id DESC);
CREATE INDEX audit_events_user_idx ON audit_events (user_id, at DESC, id DESC) WHERE user_id IS NOT NULL;
CREATE INDEX audit_events_kind_idx ON audit_events (kind, at DESC, id DESC);

-- Single-use links mailed to a user: password reset and email verification.
CREATE TABLE account_tokens (
    digest     BLOB    PRIMARY KEY NOT NULL CHECK (length(digest) = 32),
    purpose    TEXT    NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    CHECK (expires_at > created_at)
) STRICT;
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose, created_at);
CREATE INDEX account_tokens_created_idx ON account_tokens (created_at);

-- The durable mail outbox; bodies are sealed, and erased once settled.
CREATE TABLE mail_outbox (
    id              TEXT    PRIMARY KEY NOT NULL,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    sealed_body     BLOB,
    queued_at       INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    sent_at         INTEGER,
    failed_at       INTEGER,
    CHECK (sent_at IS NULL OR failed_at IS NULL),
    CHECK ((sealed_body IS NULL) = (sent_at IS NOT NULL OR failed_at IS NOT NULL))
) STRICT;
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX mail_outbox_settled_idx ON mail_outbox (queued_at) WHERE sealed_body IS NULL;

-- Consecutive failed logins per keyed digest of the typed email.
CREATE TABLE login_throttle (
    key          TEXT    PRIMARY KEY NOT NULL CHECK (length(key) BETWEEN 16 AND 128),
    failures     INTEGER NOT NULL CHECK (failures > 0),
    locked_until INTEGER,
    updated_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX login_throttle_updated_idx ON login_throttle (updated_at);

-- Keys for scripts and services that act as one user: digest and display
-- prefix only.
CREATE TABLE api_keys (
    id           TEXT    PRIMARY KEY NOT NULL,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    digest       BLOB    NOT NULL UNIQUE CHECK (length(digest) = 32),
    prefix       TEXT    NOT NULL CHECK (length(prefix) = 12),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    CHECK (expires_at IS NULL OR expires_at > created_at)
) STRICT;
CREATE INDEX api_keys_user_idx ON api_keys (user_id) WHERE revoked_at IS NULL;

-- Backup codes, as keyed digests.
CREATE TABLE mfa_backup_codes (
    user_id TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest  TEXT    NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, digest)
) STRICT;
