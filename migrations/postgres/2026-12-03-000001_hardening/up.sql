-- The security review's rules: grace, lockout per network, sessions that
-- outlive no "sign out everywhere", auth_time, retention.

-- A rotated token names its successor: a grace replay is answered only
-- while that successor is still current, and the successor's own rotation
-- erases what its predecessor kept for replays.
ALTER TABLE refresh_tokens ADD COLUMN successor_id uuid;
CREATE INDEX refresh_tokens_successor_idx ON refresh_tokens (successor_id)
    WHERE sealed_successor IS NOT NULL;
-- A rotated token is forgotten at its own idle expiry (the housekeeper).
CREATE INDEX refresh_tokens_rotated_expiry_idx ON refresh_tokens (expires_at)
    WHERE rotated_at IS NOT NULL;

-- Lockout counters per account and client network, plus one per account
-- across networks; each names its account, so that a completed reset
-- clears them all. The counters kept so far were per account.
ALTER TABLE login_throttle ADD COLUMN account text;
UPDATE login_throttle SET account = key;
ALTER TABLE login_throttle ALTER COLUMN account SET NOT NULL;
CREATE INDEX login_throttle_account_idx ON login_throttle (account);
-- The attempt that last counted on the row: an attempt learns from the
-- row itself whether it was let in, however many start in one instant.
ALTER TABLE login_throttle ADD COLUMN last_attempt uuid;

-- Bumped by every statement that ends all of a user's sessions: a sign-in
-- whose check began before starts no session after it.
ALTER TABLE users ADD COLUMN sessions_epoch bigint NOT NULL DEFAULT 0;

-- When the user last proved a credential in this session (sign-in or
-- reauthentication): the access tokens' `auth_time`.
ALTER TABLE sessions ADD COLUMN auth_time timestamptz;
UPDATE sessions SET auth_time = created_at;
ALTER TABLE sessions ALTER COLUMN auth_time SET NOT NULL;

-- Revoked and expired API keys are deleted 30 days later.
CREATE INDEX api_keys_revoked_idx ON api_keys (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX api_keys_expires_idx ON api_keys (expires_at) WHERE expires_at IS NOT NULL;
