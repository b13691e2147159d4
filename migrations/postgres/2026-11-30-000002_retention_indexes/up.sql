-- The housekeeper's sweeps (see crates/adapter-postgres/src/housekeeping.rs)
-- find their small batches through these, however large the tables grow.
CREATE INDEX refresh_tokens_kept_successor_idx ON refresh_tokens (rotated_at)
    WHERE sealed_successor IS NOT NULL;
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX account_tokens_created_idx ON account_tokens (created_at);
CREATE INDEX mail_outbox_settled_idx ON mail_outbox (queued_at) WHERE sealed_body IS NULL;
