//! Sessions (token families), and the unit of work. The unit of work owns
//! one pooled connection with an open transaction; `commit` or `rollback`
//! ends it. Dropped without either, the connection goes back to the pool
//! with its transaction open, which diesel-async reports as broken, so bb8
//! closes it and PostgreSQL rolls back.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bytea, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, RunQueryDsl, TransactionManager};
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    AuditTx, NewSession, RevokeReason, Rotation, RotationAttempt, RotationOutcome,
    SessionRevocation, SessionStore, SessionTx, SessionView, StoredToken, TokenDigest,
    Transactional, UnitOfWork,
};
use gatehouse_domain::{
    Amr, AuditEvent, Email, PresentedToken, Role, SessionId, Timestamp, UserId,
};

use crate::PgStore;
use crate::error::{bounded, from_diesel, from_pool, retried};
use crate::prepared::Prepared;
use crate::rows::{Statement, audit_insert, bind_audit, bind_session, corrupt, session_ctes};

type Conn = bb8::PooledConnection<'static, AsyncDieselConnectionManager<AsyncPgConnection>>;

#[derive(QueryableByName)]
struct SessionViewRow {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    last_used_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    expires_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    ip: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    user_agent: Option<String>,
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    found: bool,
}

#[derive(QueryableByName)]
struct Ended {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    ended: i64,
}

/// The eight placeholders that follow a revocation statement's own:
/// user, time, reason, then the audit event's id, kind, ip, user agent and
/// detail.
fn bind_revocation(q: Statement, r: SessionRevocation) -> Statement {
    q.bind::<SqlUuid, _>(r.user_id.as_uuid())
        .bind::<Timestamptz, _>(r.at)
        .bind::<Text, _>(r.reason.as_str())
        .bind::<SqlUuid, _>(r.audit.id)
        .bind::<Text, _>(r.audit.kind.as_str())
        .bind::<Nullable<Text>, _>(r.audit.client.ip)
        .bind::<Nullable<Text>, _>(r.audit.client.user_agent)
        .bind::<Jsonb, _>(r.audit.detail)
}

const LIVE_SESSIONS: &str = "\
SELECT id, created_at, last_used_at, expires_at, ip, user_agent FROM sessions \
WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
ORDER BY last_used_at DESC, id DESC";

/// `found` says whether the session is the user's, whatever its state, so
/// that a repeated revocation agrees with the first; only a session that
/// was live is ended and audited.
const REVOKE_OWN_SESSION: &str = concat!(
    "WITH target AS (SELECT id FROM sessions WHERE id = $1 AND user_id = $2), ",
    end_sessions!(from "target", at "$3", reason "$4"),
    ", audited AS ( \
    INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) \
    SELECT $5, $3, $6, $2, $7, $8, $9 || jsonb_build_object('session_id', id::text) FROM ended) \
SELECT EXISTS (SELECT 1 FROM target) AS found"
);

/// One audit row names every session ended, and none is written when
/// there was nothing to end (the HAVING over the aggregate). The sessions
/// are locked in id order first, so that two statements ending several
/// sessions of one user cannot lock them in opposite orders and deadlock.
const REVOKE_ALL_SESSIONS: &str = concat!(
    "WITH locked AS ( \
    SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL \
    ORDER BY id FOR NO KEY UPDATE), ",
    end_sessions!(from "locked", at "$2", reason "$3"),
    ", audited AS ( \
    INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) \
    SELECT $4, $2, $5, $1, $6, $7, $8 || jsonb_build_object('session_ids', jsonb_agg(id::text ORDER BY id)) \
    FROM ended HAVING count(*) > 0) \
SELECT count(*) AS ended FROM ended"
);

impl SessionStore for PgStore {
    async fn live_sessions(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> Result<Vec<SessionView>, PortError> {
        let q = Prepared(
            diesel::sql_query(LIVE_SESSIONS)
                .bind::<SqlUuid, _>(user_id.as_uuid())
                .bind::<Timestamptz, _>(now),
        );
        let rows: Vec<SessionViewRow> = bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            q.load(&mut *conn).await.map_err(from_diesel)
        })
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| SessionView {
                id: SessionId::from_uuid(r.id),
                created_at: r.created_at,
                last_used_at: r.last_used_at,
                expires_at: r.expires_at,
                ip: r.ip,
                user_agent: r.user_agent,
            })
            .collect())
    }

    async fn revoke_own_session(
        &self,
        session_id: SessionId,
        r: SessionRevocation,
    ) -> Result<bool, PortError> {
        retried(self.query_timeout, || {
            let q = Prepared(bind_revocation(
                diesel::sql_query(REVOKE_OWN_SESSION)
                    .into_boxed()
                    .bind::<SqlUuid, _>(session_id.as_uuid()),
                r.clone(),
            ));
            async move {
                let mut conn = self.conn().await?;
                Ok(q.get_result::<Found>(&mut *conn).await?.found)
            }
        })
        .await
    }

    async fn revoke_all_sessions(&self, r: SessionRevocation) -> Result<u64, PortError> {
        retried(self.query_timeout, || {
            let q = Prepared(bind_revocation(
                diesel::sql_query(REVOKE_ALL_SESSIONS).into_boxed(),
                r.clone(),
            ));
            let user = r.user_id.as_uuid();
            async move {
                let mut conn = self.conn().await?;
                let ended: Ended = crate::rows::after_bumping_epoch(&mut conn, user, q).await?;
                let ended = ended.ended;
                Ok(u64::try_from(ended).unwrap_or_default())
            }
        })
        .await
    }

    /// One statement (data-modifying CTEs): one round trip, atomic by itself.
    async fn start_session(&self, session: NewSession, audit: AuditEvent) -> Result<(), PortError> {
        let ctes = session_ctes(1);
        let sql = format!(
            "WITH {} {}",
            ctes.trim_end().trim_end_matches(','),
            audit_insert(12)
        );
        let q = bind_audit(
            bind_session(diesel::sql_query(sql).into_boxed(), session),
            audit,
        );
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            Prepared(q)
                .execute(&mut *conn)
                .await
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
    }

    /// One prepared statement in autocommit: one round trip for the
    /// common case of every refresh, and for the answer when it declines.
    async fn rotate_if_current(
        &self,
        attempt: RotationAttempt,
    ) -> Result<RotationOutcome, PortError> {
        let row: Option<AttemptRow> = retried(self.query_timeout, || {
            let attempt = attempt.clone();
            // Without an event to record, the statement stays the same (one
            // prepared statement); `$12` turns its audit row off.
            let audited = attempt.audit.is_some();
            let audit = attempt.audit.clone().unwrap_or_else(|| {
                AuditEvent::new(
                    gatehouse_domain::AuditKind::TokenRefreshed,
                    attempt.at,
                    None,
                    &gatehouse_domain::ClientInfo::default(),
                )
            });
            let q = Prepared(
                diesel::sql_query(ROTATE_IF_CURRENT)
                    .bind::<Timestamptz, _>(attempt.at)
                    .bind::<Nullable<Bytea>, _>(attempt.sealed_successor)
                    .bind::<Bytea, _>(attempt.digest.0)
                    .bind::<SqlUuid, _>(attempt.successor.id)
                    .bind::<Bytea, _>(attempt.successor.digest.0)
                    .bind::<Timestamptz, _>(attempt.successor.expires_at)
                    .bind::<SqlUuid, _>(audit.id)
                    .bind::<Text, _>(audit.kind.as_str())
                    .bind::<Nullable<Text>, _>(audit.client.ip)
                    .bind::<Nullable<Text>, _>(audit.client.user_agent)
                    .bind::<Jsonb, _>(audit.detail)
                    .bind::<diesel::sql_types::Bool, _>(audited),
            );
            async move {
                let mut conn = self.conn().await?;
                Ok(q.get_result(&mut *conn).await.optional()?)
            }
        })
        .await?;
        Ok(match row {
            None => RotationOutcome::Unknown,
            Some(AttemptRow {
                rotated: true,
                token,
            }) => RotationOutcome::Rotated(token.into_stored()?),
            Some(AttemptRow {
                rotated: false,
                token,
            }) => RotationOutcome::Declined(token.into_stored()?),
        })
    }
}

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

impl std::fmt::Debug for PgTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgTx")
    }
}

#[derive(QueryableByName)]
struct LockedRow {
    #[diesel(sql_type = SqlUuid)]
    token_id: uuid::Uuid,
    #[diesel(sql_type = SqlUuid)]
    session_id: uuid::Uuid,
    #[diesel(sql_type = Timestamptz)]
    token_expires_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    rotated_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Bytea>)]
    sealed_successor: Option<Vec<u8>>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    successor_current: bool,
    #[diesel(sql_type = Timestamptz)]
    session_expires_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    revoked_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Array<Text>)]
    amr: Vec<String>,
    #[diesel(sql_type = Timestamptz)]
    auth_time: DateTime<Utc>,
    #[diesel(sql_type = SqlUuid)]
    user_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    disabled_at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct AttemptRow {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    rotated: bool,
    #[diesel(embed)]
    token: LockedRow,
}

impl LockedRow {
    fn into_stored(self) -> Result<StoredToken, PortError> {
        let r = self;
        Ok(StoredToken {
            token_id: r.token_id,
            session_id: SessionId::from_uuid(r.session_id),
            user_id: UserId::from_uuid(r.user_id),
            email: Email::parse(&r.email).map_err(|_| corrupt("email"))?,
            role: Role::parse(&r.role).ok_or_else(|| corrupt("role"))?,
            user_disabled: r.disabled_at.is_some(),
            amr: Amr::parse(&r.amr).ok_or_else(|| corrupt("amr"))?,
            auth_time: r.auth_time,
            facts: PresentedToken {
                expires_at: r.token_expires_at,
                rotated_at: r.rotated_at,
                successor_kept: r.sealed_successor.is_some(),
                successor_current: r.successor_current,
                session_expires_at: r.session_expires_at,
                session_revoked: r.revoked_at.is_some(),
            },
            sealed_successor: r.sealed_successor,
        })
    }
}

/// The whole common case of a refresh in one statement.
///
/// Lock order: every write to a token family takes its session's row lock
/// first, then a token's (here, in `lock_token`, and in every statement that
/// ends sessions, which touch no token). A logout or revocation that
/// committed while this statement waited is therefore seen: `live` waits
/// for the session's lock and re-checks the session's row as it now is, so a
/// revoked session rotates nothing.
///
/// `rotated` then retires the token only if it is still unrotated: it
/// re-checks the token's row as it now is, so of concurrent attempts on one
/// token exactly one rotates. The successor, the audit row and the answer
/// hang off `rotated`, and so does `forgotten`: the predecessor's kept
/// successor is the token rotated now, which no replay may hand out any
/// more. The successor's expiry is capped at the session's end
/// here because only the row knows it.
///
/// When nothing was rotated, the last branch reads the token as it stood
/// when the statement began, so the caller can decide without a second
/// round trip; a read that says "current" may predate a rotation this
/// statement waited for, and the caller then decides again under the lock.
const ROTATE_IF_CURRENT: &str = "\
WITH live AS ( \
    UPDATE sessions s SET last_used_at = $1 \
    FROM refresh_tokens t, users u \
    WHERE t.digest = $3 AND t.rotated_at IS NULL AND t.expires_at > $1 \
      AND s.id = t.session_id AND s.revoked_at IS NULL AND s.expires_at > $1 \
      AND u.id = s.user_id AND u.disabled_at IS NULL \
    RETURNING t.id AS token_id, s.id AS session_id, s.expires_at AS session_expires_at, \
              s.revoked_at, s.amr, s.auth_time, u.id AS user_id, u.email, u.role, u.disabled_at), \
rotated AS ( \
    UPDATE refresh_tokens t SET rotated_at = $1, sealed_successor = $2, successor_id = $4 \
    FROM live WHERE t.id = live.token_id AND t.rotated_at IS NULL \
    RETURNING t.id AS token_id, t.expires_at AS token_expires_at, t.rotated_at, t.sealed_successor, \
              live.session_id, live.session_expires_at, live.revoked_at, live.amr, live.auth_time, \
              live.user_id, live.email, live.role, live.disabled_at), \
successor AS ( \
    INSERT INTO refresh_tokens (id, session_id, digest, issued_at, expires_at) \
    SELECT $4, session_id, $5, $1, LEAST($6, session_expires_at) FROM rotated), \
forgotten AS ( \
    UPDATE refresh_tokens p SET sealed_successor = NULL FROM rotated \
    WHERE p.successor_id = rotated.token_id AND p.sealed_successor IS NOT NULL), \
audited AS ( \
    INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) \
    SELECT $7, $1, $8, user_id, $9, $10, $11 || jsonb_build_object('session_id', session_id::text) \
    FROM rotated WHERE $12) \
SELECT true AS rotated, token_id, session_id, token_expires_at, rotated_at, sealed_successor, \
       false AS successor_current, session_expires_at, revoked_at, amr, auth_time, user_id, email, role, disabled_at \
FROM rotated \
UNION ALL \
SELECT false, t.id, t.session_id, t.expires_at, t.rotated_at, t.sealed_successor, \
       EXISTS (SELECT 1 FROM refresh_tokens n WHERE n.id = t.successor_id AND n.rotated_at IS NULL), \
       s.expires_at, s.revoked_at, s.amr, s.auth_time, u.id, u.email, u.role, u.disabled_at \
FROM refresh_tokens t \
JOIN sessions s ON s.id = t.session_id \
JOIN users u ON u.id = s.user_id \
WHERE t.digest = $3 AND NOT EXISTS (SELECT 1 FROM rotated)";

/// Ends one session inside a unit of work, erasing its kept successors.
const REVOKE_SESSION: &str = concat!(
    "WITH target AS (SELECT $1::uuid AS id), ",
    end_sessions!(from "target", at "$2", reason "$3"),
    " SELECT count(*) AS ended FROM ended"
);

/// The session of the token with this digest, locked first (see the lock
/// order above). Its own statement: a statement that waited for a lock
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
        bounded(self.query_timeout, async {
            q.execute(&mut *self.conn)
                .await
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
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
        bounded(self.query_timeout, async {
            q.execute(&mut *self.conn)
                .await
                .map(|_| ())
                .map_err(from_diesel)
        })
        .await
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
