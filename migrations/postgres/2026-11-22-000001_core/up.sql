-- Accounts. Emails are stored normalised (trimmed, lower-cased) by the
-- application. Uniqueness is on lower(email) so that no other writer can
-- add a case variant; the check does not compare with lower() itself,
-- because PostgreSQL's and Rust's Unicode case mappings differ in places.
CREATE TABLE users (
    id                uuid PRIMARY KEY,
    email             text        NOT NULL CHECK (email = btrim(email) AND char_length(email) BETWEEN 3 AND 254),
    password_hash     text        NOT NULL,
    role              text        NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    email_verified_at timestamptz,
    disabled_at       timestamptz,
    mfa_enabled       boolean     NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- A session is one refresh-token family.
CREATE TABLE sessions (
    id            uuid PRIMARY KEY,
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text,
    amr           text[]      NOT NULL,
    ip            text,
    user_agent    text,
    CHECK (expires_at > created_at),
    CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
);
-- Listing and revoking a user's live sessions.
CREATE INDEX sessions_user_live_idx ON sessions (user_id) WHERE revoked_at IS NULL;

-- Only digests are stored; a rotated token keeps its successor sealed under
-- a key derived from itself, to answer retries within the grace period.
CREATE TABLE refresh_tokens (
    id               uuid PRIMARY KEY,
    session_id       uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    digest           bytea       NOT NULL UNIQUE CHECK (octet_length(digest) = 32),
    issued_at        timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    rotated_at       timestamptz,
    sealed_successor bytea,
    CHECK (sealed_successor IS NULL OR rotated_at IS NOT NULL),
    -- The family never forks: at most one unrotated token per session,
    -- enforced by the database whatever the application does. Deferred so
    -- that one statement may retire a token and insert its successor.
    CONSTRAINT refresh_tokens_one_current_per_session
        EXCLUDE USING btree (session_id WITH =) WHERE (rotated_at IS NULL) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- The audit trail outlives accounts, so user_id has no foreign key.
CREATE TABLE audit_events (
    id         uuid PRIMARY KEY,
    at         timestamptz NOT NULL,
    kind       text        NOT NULL,
    user_id    uuid,
    ip         text,
    user_agent text,
    detail     jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_events_at_idx ON audit_events (at DESC, id DESC);
CREATE INDEX audit_events_user_idx ON audit_events (user_id, at DESC, id DESC) WHERE user_id IS NOT NULL;
CREATE INDEX audit_events_kind_idx ON audit_events (kind, at DESC, id DESC);
