//! The unit of work: one pooled connection with an open transaction;
//! `commit` or `rollback` ends it. Dropped without either, the connection
//! goes back to the pool with its transaction open, which diesel-async
//! reports as broken, so bb8 closes it and PostgreSQL rolls back.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Bytea, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, RunQueryDsl, TransactionManager};
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    AuditTx, RevokeReason, Rotation, SessionTx, StoredToken, TokenDigest, Transactional, UnitOfWork,
};
use gatehouse_domain::{AuditEvent, SessionId, Timestamp};

use crate::PgStore;
use crate::error::{bounded, from_diesel, from_pool};
use crate::prepared::Prepared;
use crate::rotation::LockedRow;
use crate::rows::{audit_insert, bind_audit};

type Conn = bb8::PooledConnection<'static, AsyncDieselConnectionManager<AsyncPgConnection>>;

impl Transactional for PgStore {
    type Tx = PgTx;

    async fn begin(&self) -> Result<PgTx, PortError> {
        bounded(self.query_timeout, async {
            let mut conn = self.pool.get_owned().await.map_err(from_pool)?;
            AnsiTransactionManager::begin_transaction(&mut *conn)
                .await
                .map_err(from_diesel)?;
            Ok(PgTx {
                conn,
                query_timeout: self.query_timeout,
            })
        })
        .await
    }
}

pub struct PgTx {
    pub(crate) conn: Conn,
    pub(crate) query_timeout: Duration,
}

impl PgTx {
    /// One write of the unit of work on its connection, bounded like
    /// every call.
    pub(crate) async fn write<Q>(&mut self, q: Q) -> Result<(), PortError>
    where
        Q: diesel_async::methods::ExecuteDsl<AsyncPgConnection> + Send,
    {
        bounded(self.query_timeout, async {
            q.execute(&mut *self.conn)
                .await
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
    }
}

impl std::fmt::Debug for PgTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgTx")
    }
}

/// Ends one session inside a unit of work, erasing its kept successors.
const REVOKE_SESSION: &str = concat!(
    "WITH target AS (SELECT $1::uuid AS id), ",
    end_sessions!(from "target", at "$2", reason "$3"),
    " SELECT count(*) AS ended FROM ended"
);

/// The session of the token with this digest, locked first (see the lock
/// order in `rotation.rs`). Its own statement: a statement that waited for a lock
/// still reads other rows as they were when it began.
const LOCK_SESSION_OF_TOKEN: &str = "\
SELECT s.id FROM sessions s \
WHERE s.id = (SELECT session_id FROM refresh_tokens WHERE digest = $1) \
FOR NO KEY UPDATE";

#[derive(QueryableByName)]
struct LockedSession {
    #[diesel(sql_type = SqlUuid)]
    #[allow(dead_code)] // only its presence matters
    id: uuid::Uuid,
}

/// Read in a fresh statement once the session is locked, so it sees every
/// write to the family that committed before. The token's own lock is
/// taken too (after the session's, in the lock order).
const LOCK_TOKEN: &str = "\
SELECT t.id AS token_id, t.session_id, t.expires_at AS token_expires_at, t.rotated_at, t.sealed_successor, \
       EXISTS (SELECT 1 FROM refresh_tokens n WHERE n.id = t.successor_id AND n.rotated_at IS NULL) \
           AS successor_current, \
       s.expires_at AS session_expires_at, s.revoked_at, s.amr, s.auth_time, \
       u.id AS user_id, u.email, u.role, u.disabled_at \
FROM refresh_tokens t \
JOIN sessions s ON s.id = t.session_id \
JOIN users u ON u.id = s.user_id \
WHERE t.digest = $1 \
FOR UPDATE OF t";

impl SessionTx for PgTx {
    async fn lock_token(&mut self, digest: &TokenDigest) -> Result<Option<StoredToken>, PortError> {
        let row: Option<LockedRow> = bounded(self.query_timeout, async {
            let session: Option<LockedSession> =
                Prepared(diesel::sql_query(LOCK_SESSION_OF_TOKEN).bind::<Bytea, _>(&digest.0))
                    .get_result(&mut *self.conn)
                    .await
                    .optional()
                    .map_err(from_diesel)?;
            if session.is_none() {
                return Ok(None);
            }
            Prepared(diesel::sql_query(LOCK_TOKEN).bind::<Bytea, _>(&digest.0))
                .get_result(&mut *self.conn)
                .await
                .optional()
                .map_err(from_diesel)
        })
        .await?;
        row.map(LockedRow::into_stored).transpose()
    }

    /// One statement: retire the token, insert its successor, touch the
    /// session, audit. The one-current-token constraint is deferred to
    /// commit, so the order inside the statement does not matter.
    async fn rotate(&mut self, r: Rotation) -> Result<(), PortError> {
        let sql = format!(
            "WITH retired AS (UPDATE refresh_tokens SET rotated_at = $1, sealed_successor = $2, successor_id = $4 \
                              WHERE id = $3 AND rotated_at IS NULL), \
                  forgotten AS (UPDATE refresh_tokens SET sealed_successor = NULL \
                                WHERE successor_id = $3 AND sealed_successor IS NOT NULL), \
                  successor AS (INSERT INTO refresh_tokens (id, session_id, digest, issued_at, expires_at) \
                                VALUES ($4, $5, $6, $7, $8)), \
                  touched AS (UPDATE sessions SET last_used_at = $1 WHERE id = $5) {}",
            if r.audit.is_some() {
                audit_insert(9)
            } else {
                "SELECT 1".to_owned()
            }
        );
        let q = diesel::sql_query(sql)
            .into_boxed()
            .bind::<Timestamptz, _>(r.at)
            .bind::<Nullable<Bytea>, _>(r.sealed_successor)
            .bind::<SqlUuid, _>(r.token_id)
            .bind::<SqlUuid, _>(r.successor.id)
            .bind::<SqlUuid, _>(r.session_id.as_uuid())
            .bind::<Bytea, _>(r.successor.digest.0)
            .bind::<Timestamptz, _>(r.successor.issued_at)
            .bind::<Timestamptz, _>(r.successor.expires_at);
        let q = match r.audit {
            Some(audit) => bind_audit(q, audit),
            None => q,
        };
        self.write(q).await
    }

    async fn revoke_session(
        &mut self,
        session_id: SessionId,
        at: Timestamp,
        reason: RevokeReason,
    ) -> Result<(), PortError> {
        let q = Prepared(
            diesel::sql_query(REVOKE_SESSION)
                .bind::<SqlUuid, _>(session_id.as_uuid())
                .bind::<Timestamptz, _>(at)
                .bind::<Text, _>(reason.as_str()),
        );
        self.write(q).await
    }
}

impl AuditTx for PgTx {
    async fn record(&mut self, event: AuditEvent) -> Result<(), PortError> {
        bounded(
            self.query_timeout,
            crate::audit::insert(&mut self.conn, event),
        )
        .await
    }
}

impl UnitOfWork for PgTx {
    async fn commit(mut self) -> Result<(), PortError> {
        bounded(self.query_timeout, async {
            AnsiTransactionManager::commit_transaction(&mut *self.conn)
                .await
                .map_err(from_diesel)
        })
        .await
    }

    /// Said explicitly, the connection goes back to the pool clean; only a
    /// dropped unit of work costs the pool its connection.
    async fn rollback(mut self) -> Result<(), PortError> {
        bounded(self.query_timeout, async {
            AnsiTransactionManager::rollback_transaction(&mut *self.conn)
                .await
                .map_err(from_diesel)
        })
        .await
    }
}
