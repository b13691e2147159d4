//! Accounts.

use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel::{OptionalExtension, QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    CreateUserError, NewSession, NewUser, PasswordChange, ProfileUpdate, SessionUser,
    UserCredentials, UserStore,
};
use gatehouse_domain::{AuditEvent, Email, PasswordHash, SessionId, Timestamp, User, UserId};

use crate::SqliteStore;
use crate::codec::{USER_COLUMNS, UserColumns, micros};
use crate::prepared::Prepared;
use crate::writes::{
    Sessions, end_sessions, enqueue, insert_account_token, insert_audit, insert_session,
    with_detail,
};

#[derive(QueryableByName)]
pub(crate) struct CredentialsRow {
    #[diesel(embed)]
    pub user: UserColumns,
    #[diesel(sql_type = Text)]
    pub password_hash: String,
}

impl CredentialsRow {
    pub fn into_credentials(self) -> QueryResult<UserCredentials> {
        Ok(UserCredentials {
            user: self.user.into_user()?,
            password_hash: PasswordHash::new(self.password_hash),
        })
    }
}

pub(crate) fn credentials(
    c: &mut SqliteConnection,
    email: &str,
) -> QueryResult<Option<UserCredentials>> {
    Prepared(
        diesel::sql_query(format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = ?"
        ))
        .bind::<Text, _>(email),
    )
    .get_result::<CredentialsRow>(c)
    .optional()?
    .map(CredentialsRow::into_credentials)
    .transpose()
}

pub(crate) fn user(c: &mut SqliteConnection, id: UserId) -> QueryResult<Option<User>> {
    diesel::sql_query(format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?"))
        .bind::<Text, _>(id.to_string())
        .get_result::<UserColumns>(c)
        .optional()?
        .map(UserColumns::into_user)
        .transpose()
}

#[derive(QueryableByName)]
struct SessionUserRow {
    #[diesel(embed)]
    user: UserColumns,
    #[diesel(sql_type = Bool)]
    session_live: bool,
}

fn insert_user(c: &mut SqliteConnection, user: &NewUser) -> QueryResult<()> {
    let at = micros(user.created_at);
    diesel::sql_query(
        "INSERT INTO users (id, email, password_hash, role, email_verified_at, created_at, updated_at, name) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind::<Text, _>(user.id.to_string())
    .bind::<Text, _>(user.email.as_str())
    .bind::<Text, _>(user.password_hash.as_str())
    .bind::<Text, _>(user.role.as_str())
    .bind::<Nullable<BigInt>, _>(user.email_verified.then_some(at))
    .bind::<BigInt, _>(at)
    .bind::<BigInt, _>(at)
    .bind::<Nullable<Text>, _>(user.name.as_ref().map(|n| n.as_str().to_owned()))
    .execute(c)
    .map(|_| ())
}

impl UserStore for SqliteStore {
    async fn create_user(
        &self,
        user: NewUser,
        session: Option<NewSession>,
        audit: AuditEvent,
    ) -> Result<(), CreateUserError> {
        self.write_raw(move |c| {
            insert_user(c, &user)?;
            if let Some(session) = &session {
                insert_session(c, session)?;
            }
            if let Some(token) = &user.verification {
                insert_account_token(c, user.id, token)?;
            }
            insert_audit(c, &audit)
        })
        .await
        .map_err(|failed| {
            if failed.is_unique_violation("users.email") {
                CreateUserError::EmailTaken
            } else {
                CreateUserError::Port(failed.into_port())
            }
        })
    }

    async fn find_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, PortError> {
        let email = email.as_str().to_owned();
        self.read(move |c| credentials(c, &email)).await
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, PortError> {
        self.read(move |c| user(c, id)).await
    }

    async fn find_session_user(
        &self,
        user_id: UserId,
        session_id: SessionId,
        now: Timestamp,
    ) -> Result<Option<SessionUser>, PortError> {
        self.read(move |c| {
            Prepared(
                diesel::sql_query(format!(
                    "SELECT {USER_COLUMNS}, EXISTS (SELECT 1 FROM sessions s \
                        WHERE s.id = ? AND s.user_id = u.id AND s.revoked_at IS NULL AND s.expires_at > ?) \
                        AS session_live \
                     FROM users u WHERE u.id = ?"
                ))
                .bind::<Text, _>(session_id.to_string())
                .bind::<BigInt, _>(micros(now))
                .bind::<Text, _>(user_id.to_string()),
            )
            .get_result::<SessionUserRow>(c)
            .optional()?
            .map(|row| {
                Ok(SessionUser {
                    user: row.user.into_user()?,
                    session_live: row.session_live,
                })
            })
            .transpose()
        })
        .await
    }

    async fn change_password(&self, change: PasswordChange) -> Result<bool, PortError> {
        self.write(move |c| {
            let swapped = diesel::sql_query(
                "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?",
            )
            .bind::<Text, _>(change.new_hash.as_str())
            .bind::<BigInt, _>(micros(change.at))
            .bind::<Text, _>(change.user_id.to_string())
            .bind::<Text, _>(change.old_hash.as_str())
            .execute(c)?;
            if swapped == 0 {
                return Ok(false);
            }
            let which = match change.keep_session {
                Some(keep) => Sessions::AllBut(keep),
                None => Sessions::All,
            };
            let ended = end_sessions(c, change.user_id, which, change.at, change.reason)?;
            insert_audit(
                c,
                &with_detail(&change.audit, "sessions_ended", ended.len().into()),
            )?;
            enqueue(c, &change.notice)?;
            Ok(true)
        })
        .await
    }

    async fn replace_password_hash(
        &self,
        id: UserId,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool, PortError> {
        let (old, new) = (old.clone(), new.clone());
        self.write(move |c| {
            diesel::sql_query(
                "UPDATE users SET password_hash = ?, updated_at = CAST(unixepoch('subsec') * 1000000 AS INTEGER) WHERE id = ? AND password_hash = ?",
            )
            .bind::<Text, _>(new.as_str())
            .bind::<Text, _>(id.to_string())
            .bind::<Text, _>(old.as_str())
            .execute(c)
            .map(|n| n == 1)
        })
        .await
    }

    async fn update_profile(&self, update: ProfileUpdate) -> Result<Option<User>, PortError> {
        self.write(move |c| {
            let at = micros(update.at);
            if let Some(name) = &update.name {
                diesel::sql_query("UPDATE users SET name = ?, updated_at = ? WHERE id = ?")
                    .bind::<Nullable<Text>, _>(name.as_ref().map(|n| n.as_str().to_owned()))
                    .bind::<BigInt, _>(at)
                    .bind::<Text, _>(update.user_id.to_string())
                    .execute(c)?;
            }
            if let Some(metadata) = &update.metadata {
                diesel::sql_query("UPDATE users SET metadata = ?, updated_at = ? WHERE id = ?")
                    .bind::<Text, _>(metadata.to_json())
                    .bind::<BigInt, _>(at)
                    .bind::<Text, _>(update.user_id.to_string())
                    .execute(c)?;
            }
            let Some(user) = user(c, update.user_id)? else {
                return Ok(None);
            };
            insert_audit(c, &update.audit)?;
            Ok(Some(user))
        })
        .await
    }
}
