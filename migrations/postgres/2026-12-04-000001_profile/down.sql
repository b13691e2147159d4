DROP INDEX users_email_trgm_idx;
ALTER TABLE users
    DROP COLUMN last_sign_in_at,
    DROP COLUMN password_must_change,
    DROP COLUMN metadata,
    DROP COLUMN name;
