-- Consecutive failed logins per account, keyed by a keyed digest of the
-- normalised email: unknown emails are counted exactly like known ones (so
-- a 429 tells nothing), and the table holds no address. In the database,
-- so the count holds across restarts and instances.
CREATE TABLE login_throttle (
    key          text        PRIMARY KEY CHECK (char_length(key) BETWEEN 16 AND 128),
    failures     integer     NOT NULL CHECK (failures > 0),
    locked_until timestamptz,
    updated_at   timestamptz NOT NULL
);
-- The housekeeper forgets counters nobody has touched for a day.
CREATE INDEX login_throttle_updated_idx ON login_throttle (updated_at);
