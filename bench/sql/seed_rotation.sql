-- Data for the rotation ceilings: one user, 6,400 sessions (100 for each
-- of 64 pgbench clients, so that clients never contend for one session),
-- each with one current refresh token. Session ids are derived from their
-- number so that the scripts can name them.
INSERT INTO users (id, email, password_hash, created_at, updated_at)
VALUES ('00000000-0000-4000-8000-000000000000', 'ceiling@example.com', 'x', now(), now());
INSERT INTO sessions (id, user_id, created_at, last_used_at, auth_time, expires_at, amr)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(s), 12, '0'))::uuid,
       '00000000-0000-4000-8000-000000000000', now(), now(), now(), now() + interval '30 days', '{pwd}'
FROM generate_series(1, 6400) AS s;
INSERT INTO refresh_tokens (id, session_id, digest, issued_at, expires_at)
SELECT gen_random_uuid(), id, sha256(id::text::bytea), now(), now() + interval '7 days'
FROM sessions;
VACUUM ANALYZE;
