//! The sweep: one small batch per kind, each its own statement. Rows are
//! picked with `FOR UPDATE SKIP LOCKED`, so sweeps on several instances
//! take different rows and never wait for each other or for a request
//! (a session a request holds is simply left for the next pass). Ending
//! a session deletes its tokens by cascade; the session's row is locked
//! before its tokens', the order every family write takes.

use diesel::sql_types::{BigInt, Timestamptz};
use diesel_async::RunQueryDsl;
use gatehouse_application::PortError;
use gatehouse_application::ports::{Housekeeping, Sweep, Swept};

use crate::PgStore;
use crate::error::{bounded, from_diesel};
use crate::prepared::Prepared;

const ERASE_SUCCESSORS: &str = "\
UPDATE refresh_tokens SET sealed_successor = NULL WHERE id IN ( \
    SELECT id FROM refresh_tokens \
    WHERE sealed_successor IS NOT NULL AND rotated_at < $1 \
    LIMIT $2 FOR UPDATE SKIP LOCKED)";

const DELETE_EXPIRED_ROTATED_TOKENS: &str = "\
DELETE FROM refresh_tokens WHERE id IN ( \
    SELECT id FROM refresh_tokens WHERE rotated_at IS NOT NULL AND expires_at < $1 \
    LIMIT $2 FOR UPDATE SKIP LOCKED)";

const DELETE_ENDED_KEYS: &str = "\
DELETE FROM api_keys WHERE id IN ( \
    SELECT id FROM api_keys WHERE revoked_at < $1 OR expires_at < $1 \
    LIMIT $2 FOR UPDATE SKIP LOCKED)";

const DELETE_ENDED_SESSIONS: &str = "\
DELETE FROM sessions WHERE id IN ( \
    SELECT id FROM sessions WHERE revoked_at < $1 OR expires_at < $1 \
    LIMIT $2 FOR UPDATE SKIP LOCKED)";

const DELETE_SPENT_LINKS: &str = "\
DELETE FROM account_tokens WHERE digest IN ( \
    SELECT digest FROM account_tokens \
    WHERE created_at < $1 AND (used_at IS NOT NULL OR expires_at <= $3) \
    LIMIT $2 FOR UPDATE SKIP LOCKED)";

const DELETE_OLD_AUDIT: &str = "\
DELETE FROM audit_events WHERE id IN ( \
    SELECT id FROM audit_events WHERE at < $1 \
    LIMIT $2 FOR UPDATE SKIP LOCKED)";

const DELETE_SETTLED_MAIL: &str = "\
DELETE FROM mail_outbox WHERE id IN ( \
    SELECT id FROM mail_outbox WHERE sealed_body IS NULL AND queued_at < $1 \
    LIMIT $2 FOR UPDATE SKIP LOCKED)";

const FORGET_IDLE_THROTTLES: &str = "\
DELETE FROM login_throttle WHERE key IN ( \
    SELECT key FROM login_throttle \
    WHERE updated_at < $1 AND (locked_until IS NULL OR locked_until <= $3) \
    LIMIT $2 FOR UPDATE SKIP LOCKED)";

impl PgStore {
    async fn sweep_one(
        &self,
        sql: &'static str,
        before: gatehouse_domain::Timestamp,
        batch: u32,
        now: Option<gatehouse_domain::Timestamp>,
    ) -> Result<u64, PortError> {
        let q = diesel::sql_query(sql)
            .into_boxed()
            .bind::<Timestamptz, _>(before)
            .bind::<BigInt, _>(i64::from(batch));
        let q = match now {
            Some(now) => q.bind::<Timestamptz, _>(now),
            None => q,
        };
        let q = Prepared(q);
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            q.execute(&mut *conn)
                .await
                .map(|n| n as u64)
                .map_err(from_diesel)
        })
        .await
    }
}

impl Housekeeping for PgStore {
    async fn sweep(&self, sweep: Sweep) -> Result<Swept, PortError> {
        let batch = sweep.batch;
        Ok(Swept {
            successors_erased: self
                .sweep_one(ERASE_SUCCESSORS, sweep.grace_over_before, batch, None)
                .await?,
            rotated_tokens_deleted: self
                .sweep_one(
                    DELETE_EXPIRED_ROTATED_TOKENS,
                    sweep.rotated_expired_before,
                    batch,
                    None,
                )
                .await?,
            keys_deleted: self
                .sweep_one(DELETE_ENDED_KEYS, sweep.keys_ended_before, batch, None)
                .await?,
            sessions_deleted: self
                .sweep_one(
                    DELETE_ENDED_SESSIONS,
                    sweep.sessions_ended_before,
                    batch,
                    None,
                )
                .await?,
            links_deleted: self
                .sweep_one(
                    DELETE_SPENT_LINKS,
                    sweep.links_made_before,
                    batch,
                    Some(sweep.now),
                )
                .await?,
            audit_events_deleted: self
                .sweep_one(DELETE_OLD_AUDIT, sweep.audit_before, batch, None)
                .await?,
            mails_deleted: self
                .sweep_one(DELETE_SETTLED_MAIL, sweep.mail_queued_before, batch, None)
                .await?,
            throttles_deleted: self
                .sweep_one(
                    FORGET_IDLE_THROTTLES,
                    sweep.throttles_idle_before,
                    batch,
                    Some(sweep.now),
                )
                .await?,
        })
    }
}
