//! Sessions (token families): listed, started and ended. Rotation is in
//! `rotation.rs`, the unit of work in `unit_of_work.rs`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    NewSession, RotationAttempt, RotationOutcome, SessionRevocation, SessionStore, SessionView,
};
use gatehouse_domain::{AuditEvent, SessionId, Timestamp, UserId};

use crate::PgStore;
use crate::error::{bounded, from_diesel, retried};
use crate::prepared::Prepared;
use crate::rows::{Statement, audit_insert, bind_audit, bind_session, session_ctes};

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
            "WITH {ctes}signed_in AS (UPDATE users SET last_sign_in_at = $3 WHERE id = $2) {}",
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
        self.rotate_in_one_step(attempt).await
    }
}
