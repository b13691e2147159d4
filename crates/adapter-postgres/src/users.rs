use diesel::prelude::*;
use diesel::sql_types::{Bool, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    CreateUserError, NewSession, NewUser, PasswordChange, ProfileUpdate, SessionUser,
    UserCredentials, UserStore,
};
use gatehouse_domain::{AuditEvent, Email, PasswordHash, SessionId, Timestamp, User, UserId};

use crate::PgStore;
use crate::account_tokens::{bind_mailed_token, mailed_token_ctes};
use crate::error::{bounded, from_diesel, retried, violates_unique};
use crate::outbox::bind_mail;
use crate::prepared::Prepared;
use crate::rows::{UserColumns, UserRow, audit_insert, bind_audit, bind_session, session_ctes};
use crate::schema::users;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// The hot path of every authenticated call: the user and its session's
/// liveness in one prepared statement (the primary keys of both tables).
const FIND_SESSION_USER: &str = "\
SELECT u.id, u.email, u.role, u.email_verified_at, u.disabled_at, u.mfa_enabled, u.created_at, u.name, u.metadata, u.password_must_change, u.last_sign_in_at, \
       (s.id IS NOT NULL AND s.revoked_at IS NULL AND s.expires_at > $3) AS session_live \
FROM users u LEFT JOIN sessions s ON s.id = $2 AND s.user_id = u.id \
WHERE u.id = $1";

/// `$2`/`$4` say whether the name (`$3`) and the metadata (`$5`, JSON
/// text) change; the audit row (`$7`-`$13`) is written only for a user
/// that exists.
const UPDATE_PROFILE: &str = "\
WITH updated AS ( \
    UPDATE users u SET name = CASE WHEN $2 THEN $3 ELSE u.name END, \
                       metadata = CASE WHEN $4 THEN $5::jsonb ELSE u.metadata END, \
                       updated_at = $6 \
    WHERE u.id = $1 \
    RETURNING u.id, u.email, u.role, u.email_verified_at, u.disabled_at, u.mfa_enabled, u.created_at, \
              u.name, u.metadata, u.password_must_change, u.last_sign_in_at), \
audited AS ( \
    INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) \
    SELECT $7, $8, $9, $10, $11, $12, $13 FROM updated) \
SELECT * FROM updated";

const CHANGE_PASSWORD: &str = concat!(
    "WITH changed AS ( \
    UPDATE users SET password_hash = $3, updated_at = $4 \
    WHERE id = $1 AND password_hash = $2 RETURNING id), \
others AS ( \
    SELECT s.id FROM sessions s JOIN changed c ON s.user_id = c.id \
    WHERE s.revoked_at IS NULL AND s.id IS DISTINCT FROM $6 \
    ORDER BY s.id FOR NO KEY UPDATE OF s), ",
    end_sessions!(from "others", at "$4", reason "$5"),
    ", audited AS ( \
    INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) \
    SELECT $7, $4, $8, id, $9, $10, \
           $11 || jsonb_build_object('sessions_ended', (SELECT count(*) FROM ended)) \
    FROM changed), \
notice AS ( \
    INSERT INTO mail_outbox (id, recipient, subject, sealed_body, queued_at, next_attempt_at) \
    SELECT $12, $13, $14, $15, $16, $16 FROM changed) \
SELECT EXISTS (SELECT 1 FROM changed) AS changed"
);

#[derive(QueryableByName)]
struct Changed {
    #[diesel(sql_type = Bool)]
    changed: bool,
}

#[derive(QueryableByName)]
struct SessionUserRow {
    #[diesel(embed)]
    user: UserColumns,
    #[diesel(sql_type = Bool)]
    session_live: bool,
}

impl SessionUserRow {
    fn into_session_user(self) -> Result<SessionUser, PortError> {
        Ok(SessionUser {
            user: self.user.into_user()?,
            session_live: self.session_live,
        })
    }
}

impl UserStore for PgStore {
    /// One statement (data-modifying CTEs): one round trip, atomic by itself.
    async fn create_user(
        &self,
        user: NewUser,
        session: Option<NewSession>,
        audit: AuditEvent,
    ) -> Result<(), CreateUserError> {
        // Whether the email counts as verified is bound last, after the
        // audit event, so the optional parts keep their numbering.
        let verified = 6
            + if session.is_some() { 11 } else { 0 }
            + if user.verification.is_some() { 9 } else { 0 }
            + 7;
        // The name follows the flag. A first session is the first sign-in.
        let name = verified + 1;
        // `$8`: the session's start (`session_ctes(6)`'s third parameter).
        let signed_in = if session.is_some() { "$8" } else { "NULL" };
        let user_cte = format!(
            "WITH new_user AS (INSERT INTO users (id, email, password_hash, role, created_at, updated_at, \
                                                  email_verified_at, name, last_sign_in_at) \
             VALUES ($1, $2, $3, $4, $5, $5, CASE WHEN ${verified} THEN $5::timestamptz END, ${name}, \
                     {signed_in})), "
        );
        let (mut sql, mut next) = match session {
            Some(_) => (format!("{user_cte}{}", session_ctes(6)), 17),
            None => (user_cte, 6),
        };
        if user.verification.is_some() {
            sql.push_str("target AS (SELECT $1 AS id), ");
            sql.push_str(&mailed_token_ctes(next));
            next += 9;
        }
        // The trailing ", " of the last CTE is trimmed before the final INSERT.
        let sql = format!(
            "{} {}",
            sql.trim_end().trim_end_matches(','),
            audit_insert(next)
        );
        let mut q = diesel::sql_query(sql)
            .into_boxed()
            .bind::<SqlUuid, _>(user.id.as_uuid())
            .bind::<Text, _>(user.email.as_str().to_owned())
            .bind::<Text, _>(user.password_hash.as_str().to_owned())
            .bind::<Text, _>(user.role.as_str())
            .bind::<Timestamptz, _>(user.created_at);
        if let Some(session) = session {
            q = bind_session(q, session);
        }
        if let Some(token) = user.verification {
            q = bind_mailed_token(q, token);
        }
        q = bind_audit(q, audit);
        q = q
            .bind::<Bool, _>(user.email_verified)
            .bind::<Nullable<Text>, _>(user.name.map(|n| n.as_str().to_owned()));
        let result = bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            Ok(Prepared(q).execute(&mut *conn).await)
        })
        .await?;
        match result {
            Ok(_) => Ok(()),
            Err(e) if violates_unique(&e, "users_email_key") => Err(CreateUserError::EmailTaken),
            Err(e) => Err(from_diesel(e).into()),
        }
    }

    async fn find_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, PortError> {
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let row = users::table
                .filter(lower(users::email).eq(email.as_str()))
                .select(UserRow::as_select())
                .first::<UserRow>(&mut *conn)
                .await
                .optional()
                .map_err(from_diesel)?;
            row.map(|r| {
                r.into_user().map(|(user, password_hash)| UserCredentials {
                    user,
                    password_hash,
                })
            })
            .transpose()
        })
        .await
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, PortError> {
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let row = users::table
                .find(id.as_uuid())
                .select(UserRow::as_select())
                .first::<UserRow>(&mut *conn)
                .await
                .optional()
                .map_err(from_diesel)?;
            row.map(|r| r.into_user().map(|(user, _)| user)).transpose()
        })
        .await
    }

    async fn find_session_user(
        &self,
        user_id: UserId,
        session_id: SessionId,
        now: Timestamp,
    ) -> Result<Option<SessionUser>, PortError> {
        let q = Prepared(
            diesel::sql_query(FIND_SESSION_USER)
                .bind::<SqlUuid, _>(user_id.as_uuid())
                .bind::<SqlUuid, _>(session_id.as_uuid())
                .bind::<Timestamptz, _>(now),
        );
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let row: Option<SessionUserRow> = q
                .get_result(&mut *conn)
                .await
                .optional()
                .map_err(from_diesel)?;
            row.map(SessionUserRow::into_session_user).transpose()
        })
        .await
    }

    /// One statement: the compare-and-swap of the hash, the other sessions'
    /// end and the audit row all hang off the swap, so they happen exactly
    /// when it does. The sessions are locked in id order, as everywhere
    /// several are ended at once.
    async fn change_password(&self, change: PasswordChange) -> Result<bool, PortError> {
        retried(self.query_timeout, || {
            let (change, audit) = (change.clone(), change.audit.clone());
            let q = diesel::sql_query(CHANGE_PASSWORD)
                .into_boxed()
                .bind::<SqlUuid, _>(change.user_id.as_uuid())
                .bind::<Text, _>(change.old_hash.as_str().to_owned())
                .bind::<Text, _>(change.new_hash.as_str().to_owned())
                .bind::<Timestamptz, _>(change.at)
                .bind::<Text, _>(change.reason.as_str())
                .bind::<Nullable<SqlUuid>, _>(change.keep_session.map(|s| s.as_uuid()))
                .bind::<SqlUuid, _>(audit.id)
                .bind::<Text, _>(audit.kind.as_str())
                .bind::<Nullable<Text>, _>(audit.client.ip)
                .bind::<Nullable<Text>, _>(audit.client.user_agent)
                .bind::<Jsonb, _>(audit.detail);
            let q = Prepared(bind_mail(q, change.notice));
            let user = change.user_id.as_uuid();
            async move {
                let mut conn = self.conn().await?;
                let changed: Changed = crate::rows::after_bumping_epoch(&mut conn, user, q).await?;
                Ok(changed.changed)
            }
        })
        .await
    }

    async fn replace_password_hash(
        &self,
        id: UserId,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool, PortError> {
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let updated = diesel::update(
                users::table
                    .filter(users::id.eq(id.as_uuid()))
                    .filter(users::password_hash.eq(old.as_str())),
            )
            .set((
                users::password_hash.eq(new.as_str()),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut *conn)
            .await
            .map_err(from_diesel)?;
            Ok(updated == 1)
        })
        .await
    }

    /// One statement: the update and its audit row, the user read back.
    async fn update_profile(&self, update: ProfileUpdate) -> Result<Option<User>, PortError> {
        let (set_name, name) = match update.name {
            Some(name) => (true, name.map(|n| n.as_str().to_owned())),
            None => (false, None),
        };
        let (set_metadata, metadata) = match update.metadata {
            Some(metadata) => (true, metadata.to_json()),
            None => (false, "{}".to_owned()),
        };
        let q = diesel::sql_query(UPDATE_PROFILE)
            .into_boxed()
            .bind::<SqlUuid, _>(update.user_id.as_uuid())
            .bind::<Bool, _>(set_name)
            .bind::<Nullable<Text>, _>(name)
            .bind::<Bool, _>(set_metadata)
            .bind::<Text, _>(metadata)
            .bind::<Timestamptz, _>(update.at);
        let q = Prepared(bind_audit(q, update.audit));
        let row: Option<UserColumns> = bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            q.get_result(&mut *conn)
                .await
                .optional()
                .map_err(from_diesel)
        })
        .await?;
        row.map(UserColumns::into_user).transpose()
    }
}
