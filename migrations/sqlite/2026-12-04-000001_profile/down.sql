ALTER TABLE users DROP COLUMN last_sign_in_at;
ALTER TABLE users DROP COLUMN password_must_change;
ALTER TABLE users DROP COLUMN metadata;
ALTER TABLE users DROP COLUMN name;
