//! Row types private to the adapter, and the SQL fragments shared by the
//! statements that write a session (register, login).

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, Bytea, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use gatehouse_application::PortError;
use gatehouse_application::ports::NewSession;
use gatehouse_domain::{
    AuditEvent, DisplayName, Email, Metadata, PasswordHash, Role, User, UserId,
};
use uuid::Uuid;

use crate::schema::users;

#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(Pg))]
pub(crate) struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub mfa_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub name: Option<String>,
    pub metadata: serde_json::Value,
    pub password_must_change: bool,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

pub(crate) fn corrupt(what: &str) -> PortError {
    PortError::Unexpected(anyhow::anyhow!("stored {what} is not valid"))
}

/// A user's columns, as every query that loads a user reads them: embedded
/// by raw-SQL rows, built from `UserRow` by the query builder's.
#[derive(QueryableByName)]
pub(crate) struct UserColumns {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub role: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub email_verified_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub disabled_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub mfa_enabled: bool,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = Jsonb)]
    pub metadata: serde_json::Value,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub password_must_change: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

impl UserColumns {
    pub fn into_user(self) -> Result<User, PortError> {
        Ok(User {
            id: UserId::from_uuid(self.id),
            email: Email::parse(&self.email).map_err(|_| corrupt("email"))?,
            role: Role::parse(&self.role).ok_or_else(|| corrupt("role"))?,
            email_verified: self.email_verified_at.is_some(),
            mfa_enabled: self.mfa_enabled,
            disabled: self.disabled_at.is_some(),
            created_at: self.created_at,
            name: self
                .name
                .map(|n| DisplayName::parse(&n).map_err(|_| corrupt("name")))
                .transpose()?,
            metadata: Metadata::from_stored(self.metadata).map_err(|_| corrupt("metadata"))?,
            password_must_change: self.password_must_change,
            last_sign_in_at: self.last_sign_in_at,
        })
    }
}

/// A user's columns from an outer join: all null when no user matched.
#[derive(QueryableByName)]
pub(crate) struct MaybeUserColumns {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub role: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub email_verified_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub disabled_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Bool>)]
    pub mfa_enabled: Option<bool>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub created_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub metadata: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Bool>)]
    pub password_must_change: Option<bool>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

impl MaybeUserColumns {
    /// The user, if the join found one.
    pub fn into_user(self) -> Result<Option<User>, PortError> {
        match (
            self.id,
            self.email,
            self.role,
            self.mfa_enabled,
            self.created_at,
            self.metadata,
            self.password_must_change,
        ) {
            (
                Some(id),
                Some(email),
                Some(role),
                Some(mfa_enabled),
                Some(created_at),
                Some(metadata),
                Some(password_must_change),
            ) => UserColumns {
                id,
                email,
                role,
                email_verified_at: self.email_verified_at,
                disabled_at: self.disabled_at,
                mfa_enabled,
                created_at,
                name: self.name,
                metadata,
                password_must_change,
                last_sign_in_at: self.last_sign_in_at,
            }
            .into_user()
            .map(Some),
            _ => Ok(None),
        }
    }
}

impl UserRow {
    pub fn into_user(self) -> Result<(User, PasswordHash), PortError> {
        let user = UserColumns {
            id: self.id,
            email: self.email,
            role: self.role,
            email_verified_at: self.email_verified_at,
            disabled_at: self.disabled_at,
            mfa_enabled: self.mfa_enabled,
            created_at: self.created_at,
            name: self.name,
            metadata: self.metadata,
            password_must_change: self.password_must_change,
            last_sign_in_at: self.last_sign_in_at,
        }
        .into_user()?;
        Ok((user, PasswordHash::new(self.password_hash)))
    }
}

pub(crate) type Statement = BoxedSqlQuery<'static, Pg, SqlQuery>;

/// Two CTEs inserting a session and its first refresh token, with
/// placeholders from `$first` on (11 of them). Ends with a comma.
pub(crate) fn session_ctes(first: usize) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "new_session AS (INSERT INTO sessions (id, user_id, created_at, last_used_at, auth_time, expires_at, amr, ip, user_agent) \
         VALUES ({0}, {1}, {2}, {2}, {2}, {3}, {4}, {5}, {6})), \
         new_token AS (INSERT INTO refresh_tokens (id, session_id, digest, issued_at, expires_at) \
         VALUES ({7}, {0}, {8}, {9}, {10})), ",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6),
        p(7),
        p(8),
        p(9),
        p(10)
    )
}

pub(crate) fn bind_session(q: Statement, s: NewSession) -> Statement {
    q.bind::<SqlUuid, _>(s.id.as_uuid())
        .bind::<SqlUuid, _>(s.user_id.as_uuid())
        .bind::<Timestamptz, _>(s.created_at)
        .bind::<Timestamptz, _>(s.expires_at)
        .bind::<Array<Text>, _>(s.amr.to_strings())
        .bind::<Nullable<Text>, _>(s.client.ip)
        .bind::<Nullable<Text>, _>(s.client.user_agent)
        .bind::<SqlUuid, _>(s.first_token.id)
        .bind::<Bytea, _>(s.first_token.digest.0)
        .bind::<Timestamptz, _>(s.first_token.issued_at)
        .bind::<Timestamptz, _>(s.first_token.expires_at)
}

/// The final `INSERT` of an audit event, placeholders from `$first` (7).
pub(crate) fn audit_insert(first: usize) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) VALUES ({}, {}, {}, {}, {}, {}, {})",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6)
    )
}

pub(crate) fn bind_audit(q: Statement, e: AuditEvent) -> Statement {
    q.bind::<SqlUuid, _>(e.id)
        .bind::<Timestamptz, _>(e.at)
        .bind::<Text, _>(e.kind.as_str())
        .bind::<Nullable<SqlUuid>, _>(e.user_id.map(|u| u.as_uuid()))
        .bind::<Nullable<Text>, _>(e.client.ip)
        .bind::<Nullable<Text>, _>(e.client.user_agent)
        .bind::<Jsonb, _>(e.detail)
}

/// Every statement that ends all (or all other) sessions of a user runs
/// after this one, in one transaction: it bumps the user's sessions epoch
/// and takes the user's row lock, which a sign-in's guarded session insert
/// also takes. Whichever is second sees the other: the ending statement,
/// with its own fresh snapshot, finds the new session, or the sign-in finds
/// the new epoch and starts none.
pub(crate) const BUMP_SESSIONS_EPOCH: &str =
    "UPDATE users SET sessions_epoch = sessions_epoch + 1 WHERE id = $1";

/// `statement` after [`BUMP_SESSIONS_EPOCH`] for `user`, in one transaction.
pub(crate) async fn after_bumping_epoch<T, Q>(
    conn: &mut diesel_async::AsyncPgConnection,
    user: Uuid,
    statement: Q,
) -> QueryResult<T>
where
    T: Send + 'static,
    Q: diesel_async::methods::LoadQuery<'static, diesel_async::AsyncPgConnection, T>
        + Send
        + 'static,
{
    let bump = diesel::sql_query(BUMP_SESSIONS_EPOCH)
        .into_boxed()
        .bind::<SqlUuid, _>(user);
    after(conn, bump, statement).await
}

/// `statement` after `first`, in one transaction: `first` takes the locks
/// `statement` then relies on, and `statement` reads with a snapshot taken
/// once they are held.
pub(crate) async fn after<T, Q>(
    conn: &mut diesel_async::AsyncPgConnection,
    first: Statement,
    statement: Q,
) -> QueryResult<T>
where
    T: Send + 'static,
    Q: diesel_async::methods::LoadQuery<'static, diesel_async::AsyncPgConnection, T>
        + Send
        + 'static,
{
    use diesel_async::AsyncConnection;
    conn.transaction(async move |c| {
        diesel_async::RunQueryDsl::execute(first, c).await?;
        diesel_async::RunQueryDsl::get_result(statement, c).await
    })
    .await
}
