DROP INDEX mail_outbox_settled_idx;
DROP INDEX account_tokens_created_idx;
DROP INDEX sessions_expires_idx;
DROP INDEX sessions_revoked_idx;
DROP INDEX refresh_tokens_kept_successor_idx;
