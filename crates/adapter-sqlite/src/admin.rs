//! The admin queries. The guarded update is one `BEGIN IMMEDIATE`
//! transaction: with one writer at a time, each update sees what the one
//! before it left, so two admins demoting each other cannot leave none.

use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{QueryResult, QueryableByName, RunQueryDsl};
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    AdminStore, AuditQuery, RevokeReason, UpdateUserError, UserQuery, UserUpdate,
};
use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Role, User, UserId};

use crate::SqliteStore;
use crate::codec::{Count, USER_COLUMNS, UserColumns, corrupt, instant, micros, uuid};
use crate::users::user;
use crate::writes::{Sessions, end_sessions, insert_audit, with_detail};

#[derive(QueryableByName)]
pub(crate) struct AuditRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    at: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    user_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    ip: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    user_agent: Option<String>,
    #[diesel(sql_type = Text)]
    detail: String,
}

impl AuditRow {
    pub(crate) fn into_event(self) -> QueryResult<AuditEvent> {
        let detail: serde_json::Value =
            serde_json::from_str(&self.detail).map_err(|_| corrupt("audit detail"))?;
        Ok(AuditEvent {
            id: uuid(&self.id)?,
            at: instant(self.at)?,
            kind: AuditKind::parse(&self.kind).ok_or_else(|| corrupt("audit kind"))?,
            user_id: self
                .user_id
                .as_deref()
                .map(uuid)
                .transpose()?
                .map(UserId::from_uuid),
            client: ClientInfo {
                ip: self.ip,
                user_agent: self.user_agent,
                request_id: detail["request_id"].as_str().map(str::to_owned),
                client_request_id: detail["client_request_id"].as_str().map(str::to_owned),
            },
            detail,
        })
    }
}

/// What an update may not do, found inside its transaction.
enum Refused {
    NotFound,
    LastAdmin,
}

impl AdminStore for SqliteStore {
    /// `instr` matches the fragment literally; an embedded store's scan
    /// of its users is cheap enough for an admin's search.
    async fn list_users(&self, query: UserQuery) -> Result<Vec<User>, PortError> {
        self.read(move |c| {
            diesel::sql_query(format!(
                "SELECT {USER_COLUMNS} FROM users u WHERE (?1 IS NULL OR u.id > ?1) \
                 AND (?3 IS NULL OR instr(u.email, ?3) > 0) ORDER BY u.id LIMIT ?2"
            ))
            .bind::<Nullable<Text>, _>(query.after.map(|id| id.to_string()))
            .bind::<BigInt, _>(i64::from(query.limit))
            .bind::<Nullable<Text>, _>(query.email_contains)
            .load::<UserColumns>(c)?
            .into_iter()
            .map(UserColumns::into_user)
            .collect()
        })
        .await
    }

    async fn update_user(&self, update: UserUpdate) -> Result<User, UpdateUserError> {
        let outcome = self
            .write(move |c| {
                let Some(current) = user(c, update.user_id)? else {
                    return Ok(Err(Refused::NotFound));
                };
                let role = update.role.unwrap_or(current.role);
                let disabled = update.disabled.unwrap_or(current.disabled);
                let was_admin = current.role == Role::Admin && !current.disabled;
                let stays_admin = role == Role::Admin && !disabled;
                if was_admin && !stays_admin {
                    let others = diesel::sql_query(
                        "SELECT count(*) AS n FROM users \
                         WHERE role = 'admin' AND disabled_at IS NULL AND id <> ?",
                    )
                    .bind::<Text, _>(update.user_id.to_string())
                    .get_result::<Count>(c)?
                    .n;
                    if others == 0 {
                        return Ok(Err(Refused::LastAdmin));
                    }
                }
                let at = micros(update.at);
                diesel::sql_query(
                    "UPDATE users SET role = ?, \
                     disabled_at = CASE WHEN ? THEN coalesce(disabled_at, ?) ELSE NULL END, \
                     updated_at = ? WHERE id = ?",
                )
                .bind::<Text, _>(role.as_str())
                .bind::<diesel::sql_types::Bool, _>(disabled)
                .bind::<BigInt, _>(at)
                .bind::<BigInt, _>(at)
                .bind::<Text, _>(update.user_id.to_string())
                .execute(c)?;
                let ended = if disabled {
                    end_sessions(
                        c,
                        update.user_id,
                        Sessions::All,
                        update.at,
                        RevokeReason::AdminAction,
                    )?
                    .len()
                } else {
                    0
                };
                let mut audit = with_detail(&update.audit, "sessions_ended", ended.into());
                audit.user_id = Some(update.user_id);
                insert_audit(c, &audit)?;
                let updated = user(c, update.user_id)?.ok_or_else(|| corrupt("user"))?;
                Ok(Ok(updated))
            })
            .await?;
        outcome.map_err(|refused| match refused {
            Refused::NotFound => UpdateUserError::NotFound,
            Refused::LastAdmin => UpdateUserError::LastAdmin,
        })
    }

    async fn audit_events(&self, query: AuditQuery) -> Result<Vec<AuditEvent>, PortError> {
        self.read(move |c| {
            let (before_at, before_id) = match query.before {
                Some((at, id)) => (Some(micros(at)), Some(id.to_string())),
                None => (None, None),
            };
            diesel::sql_query(
                "SELECT id, at, kind, user_id, ip, user_agent, detail FROM audit_events \
                 WHERE (?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR kind = ?2) \
                   AND (?3 IS NULL OR (at, id) < (?3, ?4)) \
                 ORDER BY at DESC, id DESC LIMIT ?5",
            )
            .bind::<Nullable<Text>, _>(query.user_id.map(|id| id.to_string()))
            .bind::<Nullable<Text>, _>(query.kind.map(|k| k.as_str()))
            .bind::<Nullable<BigInt>, _>(before_at)
            .bind::<Nullable<Text>, _>(before_id)
            .bind::<BigInt, _>(i64::from(query.limit))
            .load::<AuditRow>(c)?
            .into_iter()
            .map(AuditRow::into_event)
            .collect()
        })
        .await
    }
}
