//! The admin queries. The guarded update is one statement that locks every
//! enabled admin (in id order) before the target: concurrent updates
//! queue on the admins, and each sees what the previous one left, so two
//! admins demoting each other cannot leave none.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    AdminStore, AuditQuery, RevokeReason, UpdateUserError, UserQuery, UserUpdate,
};
use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, User, UserId};

use crate::PgStore;
use crate::error::{bounded, from_diesel, retried};
use crate::prepared::Prepared;
use crate::rows::{MaybeUserColumns, UserRow, corrupt};
use crate::schema::users;

const UPDATE_USER: &str = concat!(
    "WITH admins AS ( \
    SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL \
    ORDER BY id FOR UPDATE), \
target AS ( \
    SELECT id, role, disabled_at FROM users \
    WHERE id = $1 AND (SELECT count(*) FROM admins) >= 0 FOR UPDATE), \
next AS ( \
    SELECT id, (role = 'admin' AND disabled_at IS NULL) AS was_admin, \
           COALESCE($2, role) AS role, \
           CASE WHEN $3 IS NULL THEN disabled_at \
                WHEN $3 THEN COALESCE(disabled_at, $4) ELSE NULL END AS disabled_at \
    FROM target), \
allowed AS ( \
    SELECT n.* FROM next n \
    WHERE NOT n.was_admin OR (n.role = 'admin' AND n.disabled_at IS NULL) \
       OR (SELECT count(*) FROM admins a WHERE a.id <> n.id) > 0), \
updated AS ( \
    UPDATE users u SET role = a.role, disabled_at = a.disabled_at, updated_at = $4 \
    FROM allowed a WHERE u.id = a.id \
    RETURNING u.id, u.email, u.role, u.email_verified_at, u.disabled_at, u.mfa_enabled, u.created_at, u.name, u.metadata, u.password_must_change, u.last_sign_in_at), \
doomed AS ( \
    SELECT s.id FROM sessions s JOIN updated u ON s.user_id = u.id \
    WHERE u.disabled_at IS NOT NULL AND s.revoked_at IS NULL \
    ORDER BY s.id FOR NO KEY UPDATE OF s), ",
    end_sessions!(from "doomed", at "$4", reason "$5"),
    ", audited AS ( \
    INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) \
    SELECT $6, $4, $7, id, $8, $9, \
           $10 || jsonb_build_object('sessions_ended', (SELECT count(*) FROM ended)) \
    FROM updated) \
SELECT EXISTS (SELECT 1 FROM target) AS found, u.id, u.email, u.role, u.email_verified_at, \
       u.disabled_at, u.mfa_enabled, u.created_at, u.name, u.metadata, u.password_must_change, u.last_sign_in_at \
FROM (SELECT 1) AS one LEFT JOIN updated u ON true"
);

#[derive(QueryableByName)]
struct UpdatedRow {
    #[diesel(sql_type = Bool)]
    found: bool,
    #[diesel(embed)]
    user: MaybeUserColumns,
}

impl UpdatedRow {
    fn into_outcome(self) -> Result<User, UpdateUserError> {
        match self.user.into_user()? {
            Some(user) => Ok(user),
            None if self.found => Err(UpdateUserError::LastAdmin),
            None => Err(UpdateUserError::NotFound),
        }
    }
}

#[derive(QueryableByName)]
struct AuditRow {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Timestamptz)]
    at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    user_id: Option<uuid::Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    ip: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    user_agent: Option<String>,
    #[diesel(sql_type = Jsonb)]
    detail: serde_json::Value,
}

impl AuditRow {
    fn into_event(self) -> Result<AuditEvent, PortError> {
        Ok(AuditEvent {
            id: self.id,
            at: self.at,
            kind: AuditKind::parse(&self.kind).ok_or_else(|| corrupt("audit kind"))?,
            user_id: self.user_id.map(UserId::from_uuid),
            client: ClientInfo {
                ip: self.ip,
                user_agent: self.user_agent,
                request_id: self.detail["request_id"].as_str().map(str::to_owned),
                client_request_id: self.detail["client_request_id"].as_str().map(str::to_owned),
            },
            detail: self.detail,
        })
    }
}

/// The audit query for the filters present: each shape is its own
/// prepared statement, so each uses its index.
fn audit_sql(query: &AuditQuery) -> String {
    let mut conditions = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if query.user_id.is_some() {
        conditions.push(format!("user_id = {}", next()));
    }
    if query.kind.is_some() {
        conditions.push(format!("kind = {}", next()));
    }
    if query.before.is_some() {
        let (at, id) = (next(), next());
        conditions.push(format!("(at, id) < ({at}, {id})"));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    format!(
        "SELECT id, at, kind, user_id, ip, user_agent, detail FROM audit_events {filter} \
         ORDER BY at DESC, id DESC LIMIT {}",
        next()
    )
}

impl AdminStore for PgStore {
    /// The email fragment is a `LIKE` pattern with its wildcards escaped,
    /// which the trigram index on `users.email` serves.
    async fn list_users(&self, query: UserQuery) -> Result<Vec<User>, PortError> {
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let mut q = users::table
                .select(UserRow::as_select())
                .order(users::id)
                .limit(i64::from(query.limit))
                .into_boxed();
            if let Some(after) = query.after {
                q = q.filter(users::id.gt(after.as_uuid()));
            }
            if let Some(fragment) = &query.email_contains {
                let literal = fragment
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                q = q.filter(users::email.like(format!("%{literal}%")));
            }
            let rows: Vec<UserRow> = q.load(&mut *conn).await.map_err(from_diesel)?;
            rows.into_iter()
                .map(|r| r.into_user().map(|(user, _)| user))
                .collect()
        })
        .await
    }

    async fn update_user(&self, update: UserUpdate) -> Result<User, UpdateUserError> {
        let row: UpdatedRow = retried(self.query_timeout, || {
            let update = update.clone();
            let audit = update.audit;
            let q = Prepared(
                diesel::sql_query(UPDATE_USER)
                    .bind::<SqlUuid, _>(update.user_id.as_uuid())
                    .bind::<Nullable<Text>, _>(update.role.map(|r| r.as_str()))
                    .bind::<Nullable<Bool>, _>(update.disabled)
                    .bind::<Timestamptz, _>(update.at)
                    .bind::<Text, _>(RevokeReason::AdminAction.as_str())
                    .bind::<SqlUuid, _>(audit.id)
                    .bind::<Text, _>(audit.kind.as_str())
                    .bind::<Nullable<Text>, _>(audit.client.ip)
                    .bind::<Nullable<Text>, _>(audit.client.user_agent)
                    .bind::<Jsonb, _>(audit.detail),
            );
            async move {
                let mut conn = self.conn().await?;
                Ok(q.get_result(&mut *conn).await?)
            }
        })
        .await?;
        row.into_outcome()
    }

    async fn audit_events(&self, query: AuditQuery) -> Result<Vec<AuditEvent>, PortError> {
        let mut q = diesel::sql_query(audit_sql(&query)).into_boxed();
        if let Some(user_id) = query.user_id {
            q = q.bind::<SqlUuid, _>(user_id.as_uuid());
        }
        if let Some(kind) = query.kind {
            q = q.bind::<Text, _>(kind.as_str());
        }
        if let Some((at, id)) = query.before {
            q = q.bind::<Timestamptz, _>(at).bind::<SqlUuid, _>(id);
        }
        let q = Prepared(q.bind::<BigInt, _>(i64::from(query.limit)));
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let rows: Vec<AuditRow> = q.load(&mut *conn).await.map_err(from_diesel)?;
            rows.into_iter().map(AuditRow::into_event).collect()
        })
        .await
    }
}
