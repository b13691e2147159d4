//! Failed-login counters. The count is one `INSERT … ON CONFLICT DO
//! UPDATE`, which locks the key's row: concurrent failures are all
//! counted, none lost. The lockout rule (`Lockout::after`) is computed in
//! the same statement from the new count.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Double, Integer, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    LoginFailure, LoginLookup, LoginThrottleStore, NewSession, ThrottleKey, UserCredentials,
};
use gatehouse_domain::{AuditEvent, Email, PasswordHash, Timestamp};

use crate::PgStore;
use crate::error::{bounded, from_diesel, retried};
use crate::prepared::Prepared;
use crate::rows::{MaybeUserColumns, audit_insert, bind_audit, bind_session, session_ctes};

/// The account (if any) and the key's lockout (if any): one row always.
const FIND_LOGIN: &str = "\
SELECT u.id, u.email, u.password_hash, u.role, u.email_verified_at, u.disabled_at, \
       u.mfa_enabled, u.created_at, t.locked_until \
FROM (SELECT 1) AS one \
LEFT JOIN users u ON lower(u.email) = $1 \
LEFT JOIN login_throttle t ON t.key = $2";

fn count_failure() -> String {
    format!(
        "WITH counted AS ( \
            INSERT INTO login_throttle AS t (key, failures, locked_until, updated_at) \
            VALUES ($1, 1, CASE WHEN 1 >= $3 THEN $2 + make_interval(secs => LEAST($4, $5)) END, $2) \
            ON CONFLICT (key) DO UPDATE SET \
                failures = t.failures + 1, \
                locked_until = CASE WHEN t.failures + 1 >= $3 \
                    THEN $2 + make_interval(secs => \
                        LEAST($4 * power(2, LEAST(t.failures + 1 - $3, 20)), $5)) \
                    ELSE t.locked_until END, \
                updated_at = $2 \
            RETURNING locked_until), \
         audited AS ({}) \
         SELECT locked_until FROM counted",
        audit_insert(6)
    )
}

#[derive(QueryableByName)]
struct LoginRow {
    #[diesel(embed)]
    user: MaybeUserColumns,
    #[diesel(sql_type = Nullable<Text>)]
    password_hash: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    locked_until: Option<DateTime<Utc>>,
}

impl LoginRow {
    fn into_lookup(self) -> Result<LoginLookup, PortError> {
        let credentials = match (self.user.into_user()?, self.password_hash) {
            (Some(user), Some(hash)) => Some(UserCredentials {
                user,
                password_hash: PasswordHash::new(hash),
            }),
            _ => None,
        };
        Ok(LoginLookup {
            credentials,
            locked_until: self.locked_until,
        })
    }
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    locked_until: Option<DateTime<Utc>>,
}

impl LoginThrottleStore for PgStore {
    async fn find_login(&self, email: &Email, key: &ThrottleKey) -> Result<LoginLookup, PortError> {
        let q = Prepared(
            diesel::sql_query(FIND_LOGIN)
                .bind::<Text, _>(email.as_str().to_owned())
                .bind::<Text, _>(key.0.clone()),
        );
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let row: LoginRow = q.get_result(&mut *conn).await.map_err(from_diesel)?;
            row.into_lookup()
        })
        .await
    }

    async fn record_login_failure(
        &self,
        failure: LoginFailure,
    ) -> Result<Option<Timestamp>, PortError> {
        let sql = count_failure();
        retried(self.query_timeout, || {
            let failure = failure.clone();
            let lockout = failure.lockout;
            let q = diesel::sql_query(sql.as_str())
                .into_boxed()
                .bind::<Text, _>(failure.key.0)
                .bind::<Timestamptz, _>(failure.at)
                .bind::<Integer, _>(i32::try_from(lockout.max_failures).unwrap_or(i32::MAX))
                .bind::<Double, _>(lockout.first.as_secs_f64())
                .bind::<Double, _>(lockout.longest.as_secs_f64());
            let q = Prepared(bind_audit(q, failure.audit));
            async move {
                let mut conn = self.conn().await?;
                Ok(q.get_result::<Counted>(&mut *conn).await?.locked_until)
            }
        })
        .await
    }

    /// One statement: the session, its first token, the audit row, and
    /// the key's failures forgotten.
    async fn start_login_session(
        &self,
        session: NewSession,
        audit: AuditEvent,
        key: &ThrottleKey,
    ) -> Result<(), PortError> {
        let sql = format!(
            "WITH {}cleared AS (DELETE FROM login_throttle WHERE key = $12) {}",
            session_ctes(1),
            audit_insert(13)
        );
        let q = bind_session(diesel::sql_query(sql).into_boxed(), session)
            .bind::<Text, _>(key.0.clone());
        let q = Prepared(bind_audit(q, audit));
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            q.execute(&mut *conn).await.map(|_| ()).map_err(from_diesel)
        })
        .await
    }
}
