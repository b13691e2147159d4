//! Refresh-token rotation in one statement: the common case of every
//! refresh, and the token rows both it and the unit of work read.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bytea, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use gatehouse_application::PortError;
use gatehouse_application::ports::{RotationAttempt, RotationOutcome, StoredToken};
use gatehouse_domain::{Amr, AuditEvent, Email, PresentedToken, Role, SessionId, UserId};

use crate::PgStore;
use crate::error::retried;
use crate::prepared::Prepared;
use crate::rows::corrupt;

#[derive(QueryableByName)]
pub(crate) struct LockedRow {
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
    pub(crate) fn into_stored(self) -> Result<StoredToken, PortError> {
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
            presented: PresentedToken {
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
/// first, then a token's (here, in the unit of work's `lock_token`, and in
/// every statement that ends sessions, which then erases what the
/// session's tokens kept: see `ending.rs`). A logout or revocation that
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

impl PgStore {
    pub(crate) async fn rotate_in_one_step(
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
