//! Failed-login counters: each failure is one upsert in its own write
//! transaction, so concurrent failures are all counted.

use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::{OptionalExtension, QueryableByName, RunQueryDsl};
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    LoginFailure, LoginLookup, LoginThrottleStore, NewSession, ThrottleKey,
};
use gatehouse_domain::{AuditEvent, Email, Timestamp};

use crate::SqliteStore;
use crate::codec::{maybe_instant, micros};
use crate::users::credentials;
use crate::writes::{insert_audit, insert_session};

#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = Integer)]
    failures: i32,
    #[diesel(sql_type = Nullable<BigInt>)]
    locked_until: Option<i64>,
}

#[derive(QueryableByName)]
struct LockedUntil {
    #[diesel(sql_type = Nullable<BigInt>)]
    locked_until: Option<i64>,
}

impl LoginThrottleStore for SqliteStore {
    async fn find_login(&self, email: &Email, key: &ThrottleKey) -> Result<LoginLookup, PortError> {
        let (email, key) = (email.as_str().to_owned(), key.0.clone());
        self.read(move |c| {
            let credentials = credentials(c, &email)?;
            let locked: Option<LockedUntil> =
                diesel::sql_query("SELECT locked_until FROM login_throttle WHERE key = ?")
                    .bind::<Text, _>(key)
                    .get_result(c)
                    .optional()?;
            Ok(LoginLookup {
                credentials,
                locked_until: maybe_instant(locked.and_then(|l| l.locked_until))?,
            })
        })
        .await
    }

    async fn record_login_failure(
        &self,
        failure: LoginFailure,
    ) -> Result<Option<Timestamp>, PortError> {
        self.write(move |c| {
            let counter: Counter = diesel::sql_query(
                "INSERT INTO login_throttle (key, failures, updated_at) VALUES (?, 1, ?) \
                 ON CONFLICT (key) DO UPDATE SET failures = failures + 1, updated_at = excluded.updated_at \
                 RETURNING failures, locked_until",
            )
            .bind::<Text, _>(&failure.key.0)
            .bind::<BigInt, _>(micros(failure.at))
            .get_result(c)?;
            let failures = u32::try_from(counter.failures).unwrap_or(u32::MAX);
            let mut until = maybe_instant(counter.locked_until)?;
            if let Some(lockout) = failure.lockout.after(failures) {
                let end = chrono::Duration::from_std(lockout)
                    .ok()
                    .and_then(|d| failure.at.checked_add_signed(d))
                    .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
                diesel::sql_query("UPDATE login_throttle SET locked_until = ? WHERE key = ?")
                    .bind::<BigInt, _>(micros(end))
                    .bind::<Text, _>(&failure.key.0)
                    .execute(c)?;
                until = Some(end);
            }
            insert_audit(c, &failure.audit)?;
            Ok(until)
        })
        .await
    }

    async fn start_login_session(
        &self,
        session: NewSession,
        audit: AuditEvent,
        key: &ThrottleKey,
    ) -> Result<(), PortError> {
        let key = key.0.clone();
        self.write(move |c| {
            insert_session(c, &session)?;
            insert_audit(c, &audit)?;
            diesel::sql_query("DELETE FROM login_throttle WHERE key = ?")
                .bind::<Text, _>(key)
                .execute(c)
                .map(|_| ())
        })
        .await
    }
}
