-- TOTP as a second factor. Secrets are sealed under the data key (nonce,
-- ciphertext and tag); the pending one waits for its first code. The last
-- step spent makes each code good once. Backup codes are keyed digests.
ALTER TABLE users
    ADD COLUMN totp_secret    bytea,
    ADD COLUMN totp_pending   bytea,
    ADD COLUMN totp_last_step bigint,
    ADD CONSTRAINT users_mfa_has_secret CHECK (mfa_enabled = (totp_secret IS NOT NULL));

CREATE TABLE mfa_backup_codes (
    user_id uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest  text        NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (user_id, digest)
);
