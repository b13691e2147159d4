//! Lockout counters. An attempt is counted when it starts: one statement
//! reads the account and upserts both of its counters, and each upsert
//! decides on the counter's row as it stands under its row lock (never on
//! a snapshot taken before a concurrent attempt committed), so concurrent
//! attempts are let in one by one up to the threshold and no further.
//! The lockout rule (`Lockout::after`) is computed in the same statement
//! from the new count.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Double, Integer, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    AttemptKeys, LoginAttempt, LoginLookup, NewSession, SessionStart, SignInGuard, SignInStore,
    UserCredentials,
};
use gatehouse_domain::{AuditEvent, Email, PasswordHash, SessionId, Timestamp, UserId};

use crate::PgStore;
use crate::error::{bounded, from_diesel, retried};
use crate::prepared::Prepared;
use crate::rows::{MaybeUserColumns, bind_audit, bind_session};

/// `$1` network key, `$2` account key, `$3` now, `$4`/`$5` the network's
/// and the account's threshold, `$6` first lockout (s), `$7` longest (s),
/// `$8` the email, `$9` the attempt's id. A counter locked at `$3` is left as it is and reports
/// `counted = false`; any other is counted and locked from its threshold
/// on. The network's row comes first in every statement, so two attempts
/// never take the rows' locks in opposite orders.
const BEGIN_ATTEMPT: &str = "\
WITH counted AS ( \
    INSERT INTO login_throttle AS t (key, account, failures, locked_until, updated_at, last_attempt) \
    SELECT k.key, $2, 1, \
           CASE WHEN 1 >= k.threshold THEN $3 + make_interval(secs => LEAST($6, $7)) END, $3, $9 \
    FROM (VALUES (1, $1, $4), (2, $2, $5)) AS k(n, key, threshold) ORDER BY k.n \
    ON CONFLICT (key) DO UPDATE SET \
        failures = CASE WHEN t.locked_until > $3 THEN t.failures ELSE t.failures + 1 END, \
        locked_until = CASE \
            WHEN t.locked_until > $3 THEN t.locked_until \
            WHEN t.failures + 1 >= (CASE WHEN t.key = $2 THEN $5 ELSE $4 END) \
            THEN $3 + make_interval(secs => LEAST($6 * power(2, LEAST(t.failures + 1 - \
                 (CASE WHEN t.key = $2 THEN $5 ELSE $4 END), 20)), $7)) \
            ELSE t.locked_until END, \
        updated_at = CASE WHEN t.locked_until > $3 THEN t.updated_at ELSE $3 END, \
        last_attempt = CASE WHEN t.locked_until > $3 THEN t.last_attempt ELSE $9 END \
    RETURNING t.key, t.locked_until, t.last_attempt IS NOT DISTINCT FROM $9 AS counted), \
verdict AS ( \
    SELECT bool_and(counted) AS let_in, \
           max(locked_until) FILTER (WHERE NOT counted) AS locked_until, \
           array_agg(key) FILTER (WHERE counted) AS counted_keys FROM counted) \
SELECT u.id, u.email, u.password_hash, u.role, u.email_verified_at, u.disabled_at, \
       u.mfa_enabled, u.created_at, u.name, u.metadata, u.password_must_change, u.last_sign_in_at, u.sessions_epoch, v.let_in, v.locked_until, \
       COALESCE(v.counted_keys, ARRAY[]::text[]) AS counted_keys \
FROM verdict v LEFT JOIN users u ON lower(u.email) = $8";

/// Takes one failure back from the counters named in `$1` (a text array):
/// a counter at one is forgotten, any other loses one, and one that falls
/// below its threshold (`$3` for the account `$2`, else `$4`) is no
/// longer locked.
const REFUND: &str = "\
WITH forgotten AS (DELETE FROM login_throttle WHERE key = ANY($1) AND failures <= 1) \
UPDATE login_throttle SET failures = failures - 1, \
    locked_until = CASE WHEN failures - 1 < (CASE WHEN key = $2 THEN $3 ELSE $4 END) \
                        THEN NULL ELSE locked_until END \
WHERE key = ANY($1) AND failures > 1";

#[derive(QueryableByName)]
struct AttemptRow {
    #[diesel(embed)]
    user: MaybeUserColumns,
    #[diesel(sql_type = Nullable<Text>)]
    password_hash: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    sessions_epoch: Option<i64>,
    #[diesel(sql_type = Nullable<Bool>)]
    let_in: Option<bool>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    locked_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Array<Text>)]
    counted_keys: Vec<String>,
}

impl AttemptRow {
    fn into_lookup(self) -> Result<(LoginLookup, Vec<String>), PortError> {
        let credentials = match (self.user.into_user()?, self.password_hash) {
            (Some(user), Some(hash)) => Some(UserCredentials {
                user,
                password_hash: PasswordHash::new(hash),
            }),
            _ => None,
        };
        let lookup = LoginLookup {
            credentials,
            sessions_epoch: self.sessions_epoch.unwrap_or_default(),
            locked_until: match self.let_in {
                Some(true) => None,
                _ => self.locked_until,
            },
        };
        Ok((lookup, self.counted_keys))
    }
}

fn threshold(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = Bool)]
    found: bool,
}

/// A live session of the user proves a credential anew; the keys'
/// failures go with it.
const REAUTHENTICATED: &str = "\
WITH touched AS ( \
    UPDATE sessions SET auth_time = $3 \
    WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3 RETURNING id), \
cleared AS (DELETE FROM login_throttle WHERE key IN ($4, $5) AND EXISTS (SELECT 1 FROM touched)) \
SELECT EXISTS (SELECT 1 FROM touched) AS found";

#[derive(QueryableByName)]
struct Started {
    #[diesel(sql_type = Text)]
    outcome: String,
}

impl PgStore {
    /// Takes one failure back from the counters `keys` (of `attempt`).
    async fn refund(&self, attempt: &LoginAttempt, keys: Vec<String>) -> Result<(), PortError> {
        let rules = attempt.rules;
        retried(self.query_timeout, || {
            let q = Prepared(
                diesel::sql_query(REFUND)
                    .bind::<diesel::sql_types::Array<Text>, _>(keys.clone())
                    .bind::<Text, _>(attempt.keys.account.0.clone())
                    .bind::<Integer, _>(threshold(rules.per_account.max_failures))
                    .bind::<Integer, _>(threshold(rules.per_network.max_failures)),
            );
            async move {
                let mut conn = self.conn().await?;
                q.execute(&mut *conn).await?;
                Ok(())
            }
        })
        .await
    }
}

impl SignInStore for PgStore {
    async fn begin_login_attempt(
        &self,
        email: &Email,
        attempt: &LoginAttempt,
    ) -> Result<LoginLookup, PortError> {
        let rules = attempt.rules;
        let row: AttemptRow = retried(self.query_timeout, || {
            let q = Prepared(
                diesel::sql_query(BEGIN_ATTEMPT)
                    .bind::<Text, _>(attempt.keys.network.0.clone())
                    .bind::<Text, _>(attempt.keys.account.0.clone())
                    .bind::<Timestamptz, _>(attempt.at)
                    .bind::<Integer, _>(threshold(rules.per_network.max_failures))
                    .bind::<Integer, _>(threshold(rules.per_account.max_failures))
                    .bind::<Double, _>(rules.per_network.first.as_secs_f64())
                    .bind::<Double, _>(rules.per_network.longest.as_secs_f64())
                    .bind::<Text, _>(email.as_str().to_owned())
                    .bind::<diesel::sql_types::Uuid, _>(attempt.id),
            );
            async move {
                let mut conn = self.conn().await?;
                Ok(q.get_result(&mut *conn).await?)
            }
        })
        .await?;
        let (lookup, counted) = row.into_lookup()?;
        if lookup.locked_until.is_some() && !counted.is_empty() {
            // One counter refused the attempt; what the other counted is
            // given back, so a refused attempt changes nothing.
            self.refund(attempt, counted).await?;
        }
        Ok(lookup)
    }

    async fn refund_login_attempt(&self, attempt: &LoginAttempt) -> Result<(), PortError> {
        let keys = vec![
            attempt.keys.network.0.clone(),
            attempt.keys.account.0.clone(),
        ];
        self.refund(attempt, keys).await
    }

    async fn reauthenticate_session(
        &self,
        session_id: SessionId,
        user_id: UserId,
        at: Timestamp,
        keys: &AttemptKeys,
    ) -> Result<bool, PortError> {
        let q = Prepared(
            diesel::sql_query(REAUTHENTICATED)
                .bind::<diesel::sql_types::Uuid, _>(session_id.as_uuid())
                .bind::<diesel::sql_types::Uuid, _>(user_id.as_uuid())
                .bind::<Timestamptz, _>(at)
                .bind::<Text, _>(keys.network.0.clone())
                .bind::<Text, _>(keys.account.0.clone()),
        );
        let found: Found = bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            q.get_result(&mut *conn).await.map_err(from_diesel)
        })
        .await?;
        Ok(found.found)
    }

    /// One statement: the session, its first token and the audit row, each
    /// inserted only if the account still has the checked hash and epoch
    /// and is enabled; the keys' failures forgotten with them. The account's
    /// row lock orders it against every statement that ends all of the
    /// user's sessions (they take the same lock first, then look for
    /// sessions): either that one sees this session, or this one sees it.
    async fn start_login_session(
        &self,
        session: NewSession,
        audit: AuditEvent,
        keys: &AttemptKeys,
        guard: &SignInGuard,
    ) -> Result<SessionStart, PortError> {
        let q = bind_session(diesel::sql_query(GUARDED_SESSION).into_boxed(), session)
            .bind::<Text, _>(keys.network.0.clone())
            .bind::<Text, _>(keys.account.0.clone())
            .bind::<Text, _>(guard.password_hash.as_str().to_owned())
            .bind::<BigInt, _>(guard.sessions_epoch);
        let q = Prepared(bind_audit(q, audit));
        let started: Started = bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            q.get_result(&mut *conn).await.map_err(from_diesel)
        })
        .await?;
        Ok(match started.outcome.as_str() {
            "started" => SessionStart::Started,
            "disabled" => SessionStart::Disabled,
            _ => SessionStart::Stale,
        })
    }
}

/// The placeholders of `session_ctes(1)` (`$1`-`$11`: `$2` is the user),
/// then the two keys, the checked hash and epoch, then the audit event's
/// (`$16`-`$22`).
const GUARDED_SESSION: &str = "\
WITH account AS ( \
    SELECT disabled_at IS NULL AND password_hash = $14 AND sessions_epoch = $15 AS fresh, \
           disabled_at IS NOT NULL AS disabled \
    FROM users WHERE id = $2 FOR NO KEY UPDATE), \
go AS (SELECT 1 FROM account WHERE fresh), \
new_session AS ( \
    INSERT INTO sessions (id, user_id, created_at, last_used_at, auth_time, expires_at, amr, ip, user_agent) \
    SELECT $1, $2, $3, $3, $3, $4, $5, $6, $7 FROM go), \
new_token AS ( \
    INSERT INTO refresh_tokens (id, session_id, digest, issued_at, expires_at) \
    SELECT $8, $1, $9, $10, $11 FROM go), \
cleared AS (DELETE FROM login_throttle WHERE key IN ($12, $13) AND EXISTS (SELECT 1 FROM go)), \
signed_in AS (UPDATE users SET last_sign_in_at = $3 WHERE id = $2 AND EXISTS (SELECT 1 FROM go)), \
audited AS ( \
    INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) \
    SELECT $16, $17, $18, $19, $20, $21, $22 FROM go) \
SELECT CASE WHEN EXISTS (SELECT 1 FROM go) THEN 'started' \
            WHEN EXISTS (SELECT 1 FROM account WHERE disabled) THEN 'disabled' \
            ELSE 'stale' END AS outcome";
