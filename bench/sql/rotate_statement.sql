-- The rotation ceiling as ONE statement (a data-modifying CTE, autocommit):
-- the physical limit for a refresh whose common case is one round trip.
\set s :client_id * 100 + random(1, 100)
WITH retired AS (
    UPDATE refresh_tokens SET rotated_at = now(), sealed_successor = '\x00010203'
    WHERE session_id = ('00000000-0000-4000-8000-' || lpad(to_hex(:s::bigint), 12, '0'))::uuid AND rotated_at IS NULL
    RETURNING session_id)
INSERT INTO refresh_tokens (id, session_id, digest, issued_at, expires_at)
SELECT gen_random_uuid(), session_id, sha256(gen_random_uuid()::text::bytea), now(), now() + interval '7 days'
FROM retired;
