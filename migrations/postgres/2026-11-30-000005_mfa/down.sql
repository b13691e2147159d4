DROP TABLE mfa_backup_codes;
ALTER TABLE users
    DROP CONSTRAINT users_mfa_has_secret,
    DROP COLUMN totp_last_step,
    DROP COLUMN totp_pending,
    DROP COLUMN totp_secret;
