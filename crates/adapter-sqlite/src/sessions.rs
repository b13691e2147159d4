//! Sessions (token families): listed, started and ended. Rotation is in
//! `rotation.rs`, the unit of work in `unit_of_work.rs`.

use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{OptionalExtension, QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    NewSession, RevokeReason, RotationAttempt, RotationOutcome, SessionRevocation, SessionStore,
    SessionView,
};
use gatehouse_domain::{AuditEvent, SessionId, Timestamp, UserId};

use crate::SqliteStore;
use crate::codec::{instant, micros, uuid};
use crate::writes::{Sessions, end_sessions, insert_audit, insert_session, with_detail};

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

pub(crate) fn revoke_one(
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
        self.rotate_in_one_step(attempt).await
    }
}
