-- Single-use links mailed to a user: password reset and email verification.
-- Only the SHA-256 digest of a token is kept, so a copy of the database
-- yields no usable link.
CREATE TABLE account_tokens (
    digest     bytea       PRIMARY KEY CHECK (octet_length(digest) = 32),
    purpose    text        NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CHECK (expires_at > created_at)
);
-- Throttling counts a user's recent tokens; using one ends its siblings.
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose, created_at);

-- The durable mail outbox. A mail is written in the transaction of the
-- change it reports, and sent afterwards by the sender task of any
-- instance. The body is sealed with a key derived from AUTH_DATA_KEY (it
-- may hold a reset link) and erased once the mail is sent or given up.
CREATE TABLE mail_outbox (
    id              uuid        PRIMARY KEY,
    recipient       text        NOT NULL,
    subject         text        NOT NULL,
    sealed_body     bytea,
    queued_at       timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    sent_at         timestamptz,
    failed_at       timestamptz,
    CHECK (sent_at IS NULL OR failed_at IS NULL),
    CHECK ((sealed_body IS NULL) = (sent_at IS NOT NULL OR failed_at IS NOT NULL))
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;
