-- The rotation ceiling as a transaction: BEGIN, UPDATE ... RETURNING,
-- INSERT, COMMIT (run with -M prepared). Each client rotates its own
-- sessions, so the figure is the database's, not lock waiting.
\set s :client_id * 100 + random(1, 100)
BEGIN;
UPDATE refresh_tokens SET rotated_at = now(), sealed_successor = '\x00010203'
WHERE session_id = ('00000000-0000-4000-8000-' || lpad(to_hex(:s::bigint), 12, '0'))::uuid AND rotated_at IS NULL
RETURNING id;
INSERT INTO refresh_tokens (id, session_id, digest, issued_at, expires_at)
VALUES (gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad(to_hex(:s::bigint), 12, '0'))::uuid,
        sha256(gen_random_uuid()::text::bytea), now(), now() + interval '7 days');
COMMIT;
