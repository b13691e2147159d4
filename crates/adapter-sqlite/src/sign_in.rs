//! Lockout counters. Each attempt is counted when it starts, in one write
//! transaction with the lockout check: SQLite has one writer at a time,
//! so each attempt decides on the counters as the one before it left them.

use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use diesel::{OptionalExtension, QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    AttemptKeys, Lockout, LoginAttempt, LoginLookup, NewSession, SessionStart, SignInGuard,
    SignInStore, ThrottleKey,
};
use gatehouse_domain::{AuditEvent, Email, SessionId, Timestamp, UserId};

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
struct Epoch {
    #[diesel(sql_type = BigInt)]
    sessions_epoch: i64,
}

#[derive(QueryableByName)]
struct Account {
    #[diesel(sql_type = Text)]
    password_hash: String,
    #[diesel(sql_type = BigInt)]
    sessions_epoch: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    disabled_at: Option<i64>,
}

fn counter(c: &mut SqliteConnection, key: &ThrottleKey) -> QueryResult<Option<Counter>> {
    diesel::sql_query("SELECT failures, locked_until FROM login_throttle WHERE key = ?")
        .bind::<Text, _>(&key.0)
        .get_result(c)
        .optional()
}

/// One more failure on `key`, locked out from `at` once at the threshold.
fn count(
    c: &mut SqliteConnection,
    key: &ThrottleKey,
    account: &ThrottleKey,
    at: Timestamp,
    rule: Lockout,
) -> QueryResult<()> {
    let failures: Counter = diesel::sql_query(
        "INSERT INTO login_throttle (key, account, failures, updated_at) VALUES (?, ?, 1, ?) \
         ON CONFLICT (key) DO UPDATE SET failures = failures + 1, updated_at = excluded.updated_at \
         RETURNING failures, locked_until",
    )
    .bind::<Text, _>(&key.0)
    .bind::<Text, _>(&account.0)
    .bind::<BigInt, _>(micros(at))
    .get_result(c)?;
    if let Some(lockout) = rule.after(u32::try_from(failures.failures).unwrap_or(u32::MAX)) {
        let end = chrono::Duration::from_std(lockout)
            .ok()
            .and_then(|d| at.checked_add_signed(d))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        diesel::sql_query("UPDATE login_throttle SET locked_until = ? WHERE key = ?")
            .bind::<BigInt, _>(micros(end))
            .bind::<Text, _>(&key.0)
            .execute(c)?;
    }
    Ok(())
}

/// One failure less on `key`; forgotten at none, unlocked below `rule`'s
/// threshold.
fn refund(c: &mut SqliteConnection, key: &ThrottleKey, rule: Lockout) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM login_throttle WHERE key = ? AND failures <= 1")
        .bind::<Text, _>(&key.0)
        .execute(c)?;
    diesel::sql_query(
        "UPDATE login_throttle SET failures = failures - 1, \
         locked_until = CASE WHEN failures - 1 < ? THEN NULL ELSE locked_until END \
         WHERE key = ? AND failures > 1",
    )
    .bind::<Integer, _>(i32::try_from(rule.max_failures).unwrap_or(i32::MAX))
    .bind::<Text, _>(&key.0)
    .execute(c)
    .map(|_| ())
}

impl SignInStore for SqliteStore {
    async fn begin_login_attempt(
        &self,
        email: &Email,
        attempt: &LoginAttempt,
    ) -> Result<LoginLookup, PortError> {
        let (email, attempt) = (email.as_str().to_owned(), attempt.clone());
        self.write(move |c| {
            let credentials = credentials(c, &email)?;
            let sessions_epoch =
                diesel::sql_query("SELECT sessions_epoch FROM users WHERE email = ?")
                    .bind::<Text, _>(&email)
                    .get_result::<Epoch>(c)
                    .optional()?
                    .map_or(0, |e| e.sessions_epoch);
            let at = micros(attempt.at);
            let keys = &attempt.keys;
            let mut locked_until = None;
            for key in [&keys.network, &keys.account] {
                let until = counter(c, key)?.and_then(|k| k.locked_until);
                if let Some(until) = until.filter(|until| *until > at) {
                    locked_until = locked_until.max(Some(until));
                }
            }
            if locked_until.is_none() {
                count(
                    c,
                    &keys.network,
                    &keys.account,
                    attempt.at,
                    attempt.rules.per_network,
                )?;
                count(
                    c,
                    &keys.account,
                    &keys.account,
                    attempt.at,
                    attempt.rules.per_account,
                )?;
            }
            Ok(LoginLookup {
                credentials,
                sessions_epoch,
                locked_until: maybe_instant(locked_until)?,
            })
        })
        .await
    }

    async fn refund_login_attempt(&self, attempt: &LoginAttempt) -> Result<(), PortError> {
        let attempt = attempt.clone();
        self.write(move |c| {
            refund(c, &attempt.keys.network, attempt.rules.per_network)?;
            refund(c, &attempt.keys.account, attempt.rules.per_account)
        })
        .await
    }

    async fn reauthenticate_session(
        &self,
        session_id: SessionId,
        user_id: UserId,
        at: Timestamp,
        keys: &AttemptKeys,
    ) -> Result<bool, PortError> {
        let keys = keys.clone();
        self.write(move |c| {
            let touched = diesel::sql_query(
                "UPDATE sessions SET auth_time = ?1 \
                 WHERE id = ?2 AND user_id = ?3 AND revoked_at IS NULL AND expires_at > ?1",
            )
            .bind::<BigInt, _>(micros(at))
            .bind::<Text, _>(session_id.to_string())
            .bind::<Text, _>(user_id.to_string())
            .execute(c)?;
            if touched == 0 {
                return Ok(false);
            }
            diesel::sql_query("DELETE FROM login_throttle WHERE key IN (?, ?)")
                .bind::<Text, _>(keys.network.0)
                .bind::<Text, _>(keys.account.0)
                .execute(c)?;
            Ok(true)
        })
        .await
    }

    async fn start_login_session(
        &self,
        session: NewSession,
        audit: AuditEvent,
        keys: &AttemptKeys,
        guard: &SignInGuard,
    ) -> Result<SessionStart, PortError> {
        let (keys, guard) = (keys.clone(), guard.clone());
        self.write(move |c| {
            // In the write transaction: no reset, "sign out everywhere" or
            // disabling can land between this read and the insert.
            let account: Option<Account> = diesel::sql_query(
                "SELECT password_hash, sessions_epoch, disabled_at FROM users WHERE id = ?",
            )
            .bind::<Text, _>(session.user_id.to_string())
            .get_result(c)
            .optional()?;
            let Some(account) = account else {
                return Ok(SessionStart::Stale);
            };
            if account.disabled_at.is_some() {
                return Ok(SessionStart::Disabled);
            }
            if account.password_hash != guard.password_hash.as_str()
                || account.sessions_epoch != guard.sessions_epoch
            {
                return Ok(SessionStart::Stale);
            }
            insert_session(c, &session)?;
            insert_audit(c, &audit)?;
            diesel::sql_query("DELETE FROM login_throttle WHERE key IN (?, ?)")
                .bind::<Text, _>(keys.network.0)
                .bind::<Text, _>(keys.account.0)
                .execute(c)?;
            Ok(SessionStart::Started)
        })
        .await
    }
}
