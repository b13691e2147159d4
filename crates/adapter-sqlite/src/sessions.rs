//! Sessions (token families), rotation, and the unit of work. A unit of
//! work holds the writer inside `BEGIN IMMEDIATE`, and so the database's
//! write lock, until `commit` or `rollback`: that is what keeps a family
//! from forking. Dropped without either, it rolls back.

use std::time::Duration;

use diesel::sql_types::{BigInt, Binary, Nullable, Text};
use diesel::{OptionalExtension, QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    AuditTx, NewSession, OutboxTx, OutgoingMail, RevokeReason, Rotation, RotationAttempt,
    RotationOutcome, SessionRevocation, SessionStore, SessionTx, SessionView, StoredToken,
    TokenDigest, Transactional, UnitOfWork,
};
use gatehouse_domain::{AuditEvent, Presentation, SessionId, Timestamp, UserId};

use crate::SqliteStore;
use crate::codec::{STORED_TOKEN, StoredTokenRow, instant, micros, uuid};
use crate::error::{Failed, bounded};
use crate::prepared::Prepared;
use crate::writer::Steps;
use crate::writes::{
    Sessions, end_sessions, enqueue, insert_audit, insert_session, insert_token, with_detail,
};

#[derive(QueryableByName)]
struct SessionViewRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    created_at: i64,
    #[diesel(sql_type = BigInt)]
    last_used_at: i64,
    #[diesel(sql_type = BigInt)]
    expires_at: i64,
    #[diesel(sql_type = Nullable<Text>)]
    ip: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    user_agent: Option<String>,
}

impl SessionViewRow {
    fn into_view(self) -> QueryResult<SessionView> {
        Ok(SessionView {
            id: SessionId::from_uuid(uuid(&self.id)?),
            created_at: instant(self.created_at)?,
            last_used_at: instant(self.last_used_at)?,
            expires_at: instant(self.expires_at)?,
            ip: self.ip,
            user_agent: self.user_agent,
        })
    }
}

fn stored_token(c: &mut SqliteConnection, digest: &[u8]) -> QueryResult<Option<StoredToken>> {
    Prepared(diesel::sql_query(STORED_TOKEN).bind::<Binary, _>(digest))
        .get_result::<StoredTokenRow>(c)
        .optional()?
        .map(StoredTokenRow::into_token)
        .transpose()
}

/// Retires the token keeping its sealed successor (and naming it), inserts
/// the successor, touches the session and records the event; answers
/// `false`, writing nothing, when the token was rotated already (then no
/// successor may join the family). The predecessor's kept successor is the
/// token rotated now: it is erased, since no replay may hand out a token
/// that is no longer current.
fn apply(c: &mut SqliteConnection, r: &Rotation) -> QueryResult<bool> {
    let retired = Prepared(
        diesel::sql_query(
            "UPDATE refresh_tokens SET rotated_at = ?, sealed_successor = ?, successor_id = ? \
             WHERE id = ? AND rotated_at IS NULL",
        )
        .bind::<BigInt, _>(micros(r.at))
        .bind::<Nullable<Binary>, _>(r.sealed_successor.as_deref())
        .bind::<Text, _>(r.successor.id.to_string())
        .bind::<Text, _>(r.token_id.to_string()),
    )
    .execute(c)?;
    if retired == 0 {
        return Ok(false);
    }
    Prepared(
        diesel::sql_query(
            "UPDATE refresh_tokens SET sealed_successor = NULL \
             WHERE successor_id = ? AND sealed_successor IS NOT NULL",
        )
        .bind::<Text, _>(r.token_id.to_string()),
    )
    .execute(c)?;
    insert_token(
        c,
        r.session_id,
        &r.successor.id,
        &r.successor.digest.0,
        r.successor.issued_at,
        r.successor.expires_at,
    )?;
    Prepared(
        diesel::sql_query("UPDATE sessions SET last_used_at = ? WHERE id = ?")
            .bind::<BigInt, _>(micros(r.at))
            .bind::<Text, _>(r.session_id.to_string()),
    )
    .execute(c)?;
    if let Some(audit) = &r.audit {
        insert_audit(c, audit)?;
    }
    Ok(true)
}

fn revoke_one(
    c: &mut SqliteConnection,
    session_id: SessionId,
    at: Timestamp,
    reason: RevokeReason,
) -> QueryResult<()> {
    let owner: Option<crate::codec::IdRow> =
        diesel::sql_query("SELECT user_id AS id FROM sessions WHERE id = ?")
            .bind::<Text, _>(session_id.to_string())
            .get_result(c)
            .optional()?;
    if let Some(owner) = owner {
        let user_id = UserId::from_uuid(uuid(&owner.id)?);
        end_sessions(c, user_id, Sessions::One(session_id), at, reason)?;
    }
    Ok(())
}

impl SessionStore for SqliteStore {
    async fn live_sessions(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> Result<Vec<SessionView>, PortError> {
        self.read(move |c| {
            diesel::sql_query(
                "SELECT id, created_at, last_used_at, expires_at, ip, user_agent FROM sessions \
                 WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? \
                 ORDER BY last_used_at DESC, id DESC",
            )
            .bind::<Text, _>(user_id.to_string())
            .bind::<BigInt, _>(micros(now))
            .load::<SessionViewRow>(c)?
            .into_iter()
            .map(SessionViewRow::into_view)
            .collect()
        })
        .await
    }

    async fn revoke_own_session(
        &self,
        session_id: SessionId,
        r: SessionRevocation,
    ) -> Result<bool, PortError> {
        self.write(move |c| {
            let owned: Option<crate::codec::IdRow> =
                diesel::sql_query("SELECT id FROM sessions WHERE id = ? AND user_id = ?")
                    .bind::<Text, _>(session_id.to_string())
                    .bind::<Text, _>(r.user_id.to_string())
                    .get_result(c)
                    .optional()?;
            if owned.is_none() {
                return Ok(false);
            }
            let ended = end_sessions(c, r.user_id, Sessions::One(session_id), r.at, r.reason)?;
            if !ended.is_empty() {
                insert_audit(
                    c,
                    &with_detail(&r.audit, "session_id", session_id.to_string().into()),
                )?;
            }
            Ok(true)
        })
        .await
    }

    async fn revoke_all_sessions(&self, r: SessionRevocation) -> Result<u64, PortError> {
        self.write(move |c| {
            let ended = end_sessions(c, r.user_id, Sessions::All, r.at, r.reason)?;
            if !ended.is_empty() {
                insert_audit(
                    c,
                    &with_detail(&r.audit, "session_ids", ended.clone().into()),
                )?;
            }
            Ok(ended.len() as u64)
        })
        .await
    }

    async fn start_session(&self, session: NewSession, audit: AuditEvent) -> Result<(), PortError> {
        self.write(move |c| {
            insert_session(c, &session)?;
            insert_audit(c, &audit)
        })
        .await
    }

    async fn rotate_if_current(
        &self,
        attempt: RotationAttempt,
    ) -> Result<RotationOutcome, PortError> {
        self.write(move |c| {
            let Some(token) = stored_token(c, &attempt.digest.0)? else {
                return Ok(RotationOutcome::Unknown);
            };
            let at = attempt.at;
            // The domain's rule says what "current" is; the grace plays no
            // part for a token that was never rotated.
            let current = !token.user_disabled
                && token.facts.classify(at, Duration::ZERO) == Presentation::Rotate;
            if !current {
                return Ok(RotationOutcome::Declined(token));
            }
            let mut successor = attempt.successor;
            successor.expires_at = successor.expires_at.min(token.facts.session_expires_at);
            let audit = attempt.audit.as_ref().map(|audit| {
                let mut audit =
                    with_detail(audit, "session_id", token.session_id.to_string().into());
                audit.user_id = Some(token.user_id);
                audit
            });
            // Found current inside this transaction, so it rotates.
            apply(
                c,
                &Rotation {
                    token_id: token.token_id,
                    session_id: token.session_id,
                    at,
                    sealed_successor: attempt.sealed_successor,
                    successor,
                    audit,
                },
            )?;
            Ok(RotationOutcome::Rotated(token))
        })
        .await
    }
}

/// A unit of work: the writer inside `BEGIN IMMEDIATE` (see `writer.rs`).
pub struct SqliteTx {
    steps: Option<Steps>,
    query_timeout: Duration,
}

impl std::fmt::Debug for SqliteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTx")
            .field("open", &self.steps.is_some())
            .finish_non_exhaustive()
    }
}

impl SqliteTx {
    async fn run<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut SqliteConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, PortError> {
        let Some(steps) = self.steps.as_ref() else {
            return Err(PortError::Unexpected(anyhow::anyhow!(
                "the unit of work has ended"
            )));
        };
        bounded(self.query_timeout, steps.run(work))
            .await
            .map_err(Failed::into_port)
    }

    async fn finish(mut self, sql: &'static str) -> Result<(), PortError> {
        let Some(steps) = self.steps.take() else {
            return Ok(());
        };
        bounded(self.query_timeout, steps.end(sql))
            .await
            .map_err(Failed::into_port)
    }
}

impl Transactional for SqliteStore {
    type Tx = SqliteTx;

    /// Dropped without `commit` or `rollback`, the unit's channel closes
    /// and the writer rolls it back.
    async fn begin(&self) -> Result<SqliteTx, PortError> {
        let steps = bounded(self.query_timeout, self.writer.begin())
            .await
            .map_err(Failed::into_port)?;
        Ok(SqliteTx {
            steps: Some(steps),
            query_timeout: self.query_timeout,
        })
    }
}

impl SessionTx for SqliteTx {
    async fn lock_token(&mut self, digest: &TokenDigest) -> Result<Option<StoredToken>, PortError> {
        let digest = digest.0.clone();
        self.run(move |c| stored_token(c, &digest)).await
    }

    async fn rotate(&mut self, rotation: Rotation) -> Result<(), PortError> {
        if self.run(move |c| apply(c, &rotation)).await? {
            Ok(())
        } else {
            Err(PortError::Conflict(anyhow::anyhow!(
                "the token was rotated already"
            )))
        }
    }

    async fn revoke_session(
        &mut self,
        session_id: SessionId,
        at: Timestamp,
        reason: RevokeReason,
    ) -> Result<(), PortError> {
        self.run(move |c| revoke_one(c, session_id, at, reason))
            .await
    }
}

impl AuditTx for SqliteTx {
    async fn record(&mut self, event: AuditEvent) -> Result<(), PortError> {
        self.run(move |c| insert_audit(c, &event)).await
    }
}

impl OutboxTx for SqliteTx {
    async fn enqueue(&mut self, mail: OutgoingMail) -> Result<(), PortError> {
        self.run(move |c| enqueue(c, &mail)).await
    }
}

impl UnitOfWork for SqliteTx {
    async fn commit(self) -> Result<(), PortError> {
        self.finish("COMMIT").await
    }

    async fn rollback(self) -> Result<(), PortError> {
        self.finish("ROLLBACK").await
    }
}
