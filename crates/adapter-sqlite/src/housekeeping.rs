//! The sweep: one small batch of each kind, in one short write
//! transaction (so it holds the write lock briefly).

use diesel::sql_types::BigInt;
use diesel::{QueryResult, RunQueryDsl, SqliteConnection};
use gatehouse_application::PortError;
use gatehouse_application::ports::{Housekeeping, Sweep, Swept};

use crate::SqliteStore;
use crate::codec::micros;

fn batch(c: &mut SqliteConnection, sql: &str, cut_offs: &[i64], limit: u32) -> QueryResult<u64> {
    let mut query = diesel::sql_query(sql).into_boxed();
    for cut_off in cut_offs {
        query = query.bind::<BigInt, _>(*cut_off);
    }
    query
        .bind::<BigInt, _>(i64::from(limit))
        .execute(c)
        .map(|n| n as u64)
}

impl Housekeeping for SqliteStore {
    async fn sweep(&self, sweep: Sweep) -> Result<Swept, PortError> {
        self.write(move |c| {
            let limit = sweep.batch;
            let now = micros(sweep.now);
            Ok(Swept {
                successors_erased: batch(
                    c,
                    "UPDATE refresh_tokens SET sealed_successor = NULL WHERE id IN ( \
                         SELECT id FROM refresh_tokens \
                         WHERE sealed_successor IS NOT NULL AND rotated_at < ? LIMIT ?)",
                    &[micros(sweep.grace_over_before)],
                    limit,
                )?,
                rotated_tokens_deleted: batch(
                    c,
                    "DELETE FROM refresh_tokens WHERE id IN ( \
                         SELECT id FROM refresh_tokens \
                         WHERE rotated_at IS NOT NULL AND expires_at < ? LIMIT ?)",
                    &[micros(sweep.rotated_expired_before)],
                    limit,
                )?,
                keys_deleted: batch(
                    c,
                    "DELETE FROM api_keys WHERE id IN ( \
                         SELECT id FROM api_keys WHERE revoked_at < ?1 OR expires_at < ?1 LIMIT ?2)",
                    &[micros(sweep.keys_ended_before)],
                    limit,
                )?,
                // Their tokens go with them (ON DELETE CASCADE).
                sessions_deleted: batch(
                    c,
                    "DELETE FROM sessions WHERE id IN ( \
                         SELECT id FROM sessions WHERE revoked_at < ?1 OR expires_at < ?1 LIMIT ?2)",
                    &[micros(sweep.sessions_ended_before)],
                    limit,
                )?,
                links_deleted: batch(
                    c,
                    "DELETE FROM account_tokens WHERE digest IN ( \
                         SELECT digest FROM account_tokens \
                         WHERE created_at < ? AND (used_at IS NOT NULL OR expires_at <= ?) LIMIT ?)",
                    &[micros(sweep.links_made_before), now],
                    limit,
                )?,
                audit_events_deleted: batch(
                    c,
                    "DELETE FROM audit_events WHERE id IN ( \
                         SELECT id FROM audit_events WHERE at < ? LIMIT ?)",
                    &[micros(sweep.audit_before)],
                    limit,
                )?,
                mails_deleted: batch(
                    c,
                    "DELETE FROM mail_outbox WHERE id IN ( \
                         SELECT id FROM mail_outbox WHERE sealed_body IS NULL AND queued_at < ? LIMIT ?)",
                    &[micros(sweep.mail_queued_before)],
                    limit,
                )?,
                throttles_deleted: batch(
                    c,
                    "DELETE FROM login_throttle WHERE key IN ( \
                         SELECT key FROM login_throttle \
                         WHERE updated_at < ? AND (locked_until IS NULL OR locked_until <= ?) LIMIT ?)",
                    &[micros(sweep.throttles_idle_before), now],
                    limit,
                )?,
            })
        })
        .await
    }
}
