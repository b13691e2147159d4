-- The profile: a display name, the user's own JSON object, the flag of an
-- account whose password an admin chose, and the last sign-in. The domain
-- bounds name and metadata; the checks keep a stray write from breaking
-- them.
ALTER TABLE users
    ADD COLUMN name text CHECK (char_length(name) BETWEEN 1 AND 100),
    ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(metadata) = 'object'),
    ADD COLUMN password_must_change boolean NOT NULL DEFAULT false,
    ADD COLUMN last_sign_in_at timestamptz;
