-- The security review's rules, as in PostgreSQL's migration of the same
-- name (same columns, so `gatehouse db copy` moves them by name).

-- A rotated token names its successor (grace replays, erasure).
ALTER TABLE refresh_tokens ADD COLUMN successor_id TEXT;
CREATE INDEX refresh_tokens_successor_idx ON refresh_tokens (successor_id)
    WHERE sealed_successor IS NOT NULL;
CREATE INDEX refresh_tokens_rotated_expiry_idx ON refresh_tokens (expires_at)
    WHERE rotated_at IS NOT NULL;

-- Lockout counters name their account (per network and across networks).
ALTER TABLE login_throttle ADD COLUMN account TEXT NOT NULL DEFAULT '';
UPDATE login_throttle SET account = key;
CREATE INDEX login_throttle_account_idx ON login_throttle (account);
ALTER TABLE login_throttle ADD COLUMN last_attempt TEXT;

-- Bumped by every statement that ends all of a user's sessions.
ALTER TABLE users ADD COLUMN sessions_epoch INTEGER NOT NULL DEFAULT 0;

-- The access tokens' `auth_time`, per session.
ALTER TABLE sessions ADD COLUMN auth_time INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET auth_time = created_at;

CREATE INDEX api_keys_revoked_idx ON api_keys (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX api_keys_expires_idx ON api_keys (expires_at) WHERE expires_at IS NOT NULL;
