//! Reset and verification tokens. Each write is one statement built of
//! data-modifying CTEs: whatever it writes hangs off the row it found or
//! spent, so it happens all or nothing.
//!
//! Spending locks the token's user first, then is a conditional `UPDATE …
//! WHERE used_at IS NULL`: of two concurrent requests with one token, the
//! second waits for the first, then finds the token used and writes
//! nothing; two links of one user spent at once queue on the user instead
//! of deadlocking on each other's siblings.
//!
//! Requests for a new link are throttled by counting the user's recent
//! links. A count cannot see rows that concurrent statements are inserting,
//! so the request runs in a short transaction behind an advisory lock on
//! its key (the email, or the user): concurrent requests for one account
//! take turns, and each counts what the previous ones wrote.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Bytea, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AnsiTransactionManager, RunQueryDsl, TransactionManager};
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    AccountTokenStore, EmailVerification, MailedToken, PasswordReset, ResetRequest, RevokeReason,
    Throttle, TokenDigest, TokenPurpose, VerificationRequest,
};
use gatehouse_domain::{AuditEvent, Timestamp, User, UserId};

use crate::PgStore;
use crate::error::{bounded, from_diesel, retried};
use crate::outbox::{bind_mail, enqueue_cte};
use crate::prepared::Prepared;
use crate::rows::{Statement, UserColumns};

/// The CTEs storing a token for the user `target` yields (if any) and
/// queuing its mail: 4 + 5 placeholders from `$first`. Ends with a comma.
pub(crate) fn mailed_token_ctes(first: usize) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "new_link AS (INSERT INTO account_tokens (digest, purpose, user_id, created_at, expires_at) \
         SELECT {}, {}, id, {}, {} FROM target RETURNING user_id), {}",
        p(0),
        p(1),
        p(2),
        p(3),
        enqueue_cte("new_mail", first + 4, "FROM new_link"),
    )
}

pub(crate) fn bind_mailed_token(q: Statement, token: MailedToken) -> Statement {
    let q = q
        .bind::<Bytea, _>(token.digest.0)
        .bind::<Text, _>(token.purpose.as_str())
        .bind::<Timestamptz, _>(token.created_at)
        .bind::<Timestamptz, _>(token.expires_at);
    bind_mail(q, token.mail)
}

/// How many tokens of the purpose (`$p`) the user `u` got since `$since`,
/// below `$max`: the throttle, in SQL.
fn under_throttle(purpose: usize, since: usize, max: usize) -> String {
    format!(
        "(SELECT count(*) FROM account_tokens t \
          WHERE t.user_id = u.id AND t.purpose = ${purpose} AND t.created_at > ${since}) < ${max}"
    )
}

fn bind_throttle(q: Statement, purpose: TokenPurpose, throttle: Throttle) -> Statement {
    q.bind::<Text, _>(purpose.as_str())
        .bind::<Timestamptz, _>(throttle.since)
        .bind::<BigInt, _>(i64::from(throttle.max))
}

/// The audit insert hanging off `source` (a CTE with a `user_id`):
/// placeholders from `$first` (6: id, at, kind, ip, user agent, detail).
fn audit_from(source: &str, first: usize, extra_detail: &str) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "audited AS (INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) \
         SELECT {}, {}, {}, user_id, {}, {}, {}{extra_detail} FROM {source}), ",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
    )
}

fn bind_audit_from(q: Statement, e: AuditEvent) -> Statement {
    q.bind::<SqlUuid, _>(e.id)
        .bind::<Timestamptz, _>(e.at)
        .bind::<Text, _>(e.kind.as_str())
        .bind::<Nullable<Text>, _>(e.client.ip)
        .bind::<Nullable<Text>, _>(e.client.user_agent)
        .bind::<Jsonb, _>(e.detail)
}

/// `WITH a, b, c,` + `tail`: the last CTE's comma trimmed.
fn statement(ctes: &[String], tail: &str) -> String {
    let joined = ctes.concat();
    format!("WITH {} {tail}", joined.trim_end().trim_end_matches(','))
}

#[derive(QueryableByName)]
struct Wrote {
    #[diesel(sql_type = Bool)]
    wrote: bool,
}

#[derive(QueryableByName)]
struct SpentBy {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    user_id: Option<uuid::Uuid>,
}

/// Spends the token `$1` of purpose `$2` if it is live at `$3`, with every
/// other live token of its purpose of the same user, after locking the
/// user (`owner`, which `spent` reads, so it runs first). `owner_filter`
/// narrows which users may spend (`u.…` conditions).
/// The owner of a live reset link: its sessions epoch moved on, its row
/// locked until the reset commits.
const BUMP_EPOCH_OF_RESET: &str = "\
UPDATE users SET sessions_epoch = sessions_epoch + 1 \
WHERE id = (SELECT user_id FROM account_tokens \
            WHERE digest = $1 AND purpose = 'password_reset' AND used_at IS NULL AND expires_at > $2)";

fn spend(owner_filter: &str) -> String {
    format!(
        "owner AS ( \
            SELECT u.id FROM account_tokens t JOIN users u ON u.id = t.user_id \
            WHERE t.digest = $1 AND t.purpose = $2 {owner_filter} FOR UPDATE OF u), \
         spent AS ( \
            UPDATE account_tokens SET used_at = $3 \
            WHERE digest = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 \
              AND user_id IN (SELECT id FROM owner) \
            RETURNING user_id), \
         siblings AS ( \
            UPDATE account_tokens SET used_at = $3 \
            WHERE user_id IN (SELECT user_id FROM spent) AND purpose = $2 \
              AND used_at IS NULL AND digest <> $1), "
    )
}

fn bind_spend(
    q: Statement,
    digest: TokenDigest,
    purpose: TokenPurpose,
    at: Timestamp,
) -> Statement {
    q.bind::<Bytea, _>(digest.0)
        .bind::<Text, _>(purpose.as_str())
        .bind::<Timestamptz, _>(at)
}

impl PgStore {
    /// Runs `q` in a transaction that first takes the advisory lock of
    /// `key`, so that requests for one account are counted one at a time.
    pub(crate) async fn wrote_in_turn(
        &self,
        key: String,
        q: Prepared<Statement>,
    ) -> Result<bool, PortError> {
        let lock = Prepared(
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind::<Text, _>(key),
        );
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            AnsiTransactionManager::begin_transaction(&mut *conn)
                .await
                .map_err(from_diesel)?;
            let wrote = match lock.execute(&mut *conn).await {
                Ok(_) => q.get_result::<Wrote>(&mut *conn).await,
                Err(e) => Err(e),
            };
            match wrote {
                Ok(w) => {
                    AnsiTransactionManager::commit_transaction(&mut *conn)
                        .await
                        .map_err(from_diesel)?;
                    Ok(w.wrote)
                }
                Err(e) => {
                    let _ = AnsiTransactionManager::rollback_transaction(&mut *conn).await;
                    Err(from_diesel(e))
                }
            }
        })
        .await
    }

    async fn spent_by(
        &self,
        build: impl Fn() -> Prepared<Statement>,
    ) -> Result<Option<UserId>, PortError> {
        retried(self.query_timeout, || {
            let q = build();
            async move {
                let mut conn = self.conn().await?;
                let spent = q.get_result::<SpentBy>(&mut *conn).await?;
                Ok(spent.user_id.map(UserId::from_uuid))
            }
        })
        .await
    }
}

impl AccountTokenStore for PgStore {
    async fn request_password_reset(&self, request: ResetRequest) -> Result<bool, PortError> {
        let sql = statement(
            &[
                format!(
                    "target AS (SELECT u.id FROM users u \
                     WHERE lower(u.email) = $1 AND u.disabled_at IS NULL AND {}), ",
                    under_throttle(2, 3, 4)
                ),
                mailed_token_ctes(5),
                // For an account only (throttled or not): an unknown email
                // writes nothing, so probes cannot grow the table.
                "audited AS (INSERT INTO audit_events (id, at, kind, user_id, ip, user_agent, detail) \
                 SELECT $14, $15, $16, u.id, $17, $18, \
                        $19 || jsonb_build_object('mailed', EXISTS (SELECT 1 FROM new_link)) \
                 FROM users u WHERE lower(u.email) = $1 AND u.disabled_at IS NULL), "
                    .to_owned(),
            ],
            "SELECT EXISTS (SELECT 1 FROM new_link) AS wrote",
        );
        let key = format!("password_reset:{}", request.email.as_str());
        let q = diesel::sql_query(sql)
            .into_boxed()
            .bind::<Text, _>(request.email.as_str().to_owned());
        let q = bind_throttle(q, TokenPurpose::PasswordReset, request.throttle);
        let q = bind_mailed_token(q, request.token);
        let q = bind_audit_from(q, request.audit);
        self.wrote_in_turn(key, Prepared(q)).await
    }

    async fn request_verification(&self, request: VerificationRequest) -> Result<bool, PortError> {
        let sql = statement(
            &[
                format!(
                    "target AS (SELECT u.id FROM users u \
                     WHERE u.id = $1 AND u.email_verified_at IS NULL AND {}), ",
                    under_throttle(2, 3, 4)
                ),
                mailed_token_ctes(5),
            ],
            "SELECT EXISTS (SELECT 1 FROM new_link) AS wrote",
        );
        let key = format!("email_verification:{}", request.user_id);
        let q = diesel::sql_query(sql)
            .into_boxed()
            .bind::<SqlUuid, _>(request.user_id.as_uuid());
        let q = bind_throttle(q, TokenPurpose::EmailVerification, request.throttle);
        let q = bind_mailed_token(q, request.token);
        self.wrote_in_turn(key, Prepared(q)).await
    }

    async fn find_token_user(
        &self,
        digest: &TokenDigest,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<Option<User>, PortError> {
        const FIND: &str = "\
SELECT u.id, u.email, u.role, u.email_verified_at, u.disabled_at, u.mfa_enabled, u.created_at, u.name, u.metadata, u.password_must_change, u.last_sign_in_at \
FROM account_tokens t JOIN users u ON u.id = t.user_id \
WHERE t.digest = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > $3";
        let q = Prepared(
            diesel::sql_query(FIND)
                .bind::<Bytea, _>(digest.0.clone())
                .bind::<Text, _>(purpose.as_str())
                .bind::<Timestamptz, _>(now),
        );
        bounded(self.query_timeout, async {
            let mut conn = self.conn().await?;
            let row: Option<UserColumns> =
                diesel::OptionalExtension::optional(q.get_result(&mut *conn).await)
                    .map_err(from_diesel)?;
            row.map(UserColumns::into_user).transpose()
        })
        .await
    }

    /// The sessions are locked in id order, as everywhere several are ended
    /// at once, after the user's row: the order a password change takes. A
    /// disabled account's links no longer work. The reset proves the
    /// mailbox is the user's, so it also verifies the email.
    async fn reset_password(&self, reset: PasswordReset) -> Result<Option<UserId>, PortError> {
        let sql = statement(
            &[
                spend("AND u.disabled_at IS NULL"),
                concat!(
                    "changed AS ( \
                    UPDATE users SET password_hash = $4, updated_at = $3, password_must_change = false, \
                                     email_verified_at = COALESCE(email_verified_at, $3) \
                    WHERE id IN (SELECT user_id FROM spent) RETURNING id AS user_id), \
                 doomed AS ( \
                    SELECT s.id FROM sessions s JOIN changed c ON s.user_id = c.user_id \
                    WHERE s.revoked_at IS NULL ORDER BY s.id FOR NO KEY UPDATE OF s), ",
                    end_sessions!(from "doomed", at "$3", reason "$5"),
                    ", keys_revoked AS ( \
                    UPDATE api_keys SET revoked_at = $3 \
                    WHERE user_id IN (SELECT user_id FROM changed) AND revoked_at IS NULL), \
                 unlocked AS ( \
                    DELETE FROM login_throttle \
                    WHERE account = $12 AND EXISTS (SELECT 1 FROM changed)), "
                )
                .to_owned(),
                audit_from(
                    "changed",
                    6,
                    " || jsonb_build_object('sessions_ended', (SELECT count(*) FROM ended))",
                ),
            ],
            "SELECT (SELECT user_id FROM changed) AS user_id",
        );
        // The owner's row is locked (and its sessions epoch bumped) by a
        // statement of its own first: the reset then looks for sessions with
        // a snapshot taken under that lock, so a sign-in that committed just
        // before is seen and ended, and one after finds the epoch moved.
        retried(self.query_timeout, || {
            let reset = reset.clone();
            let bump = diesel::sql_query(BUMP_EPOCH_OF_RESET)
                .into_boxed()
                .bind::<Bytea, _>(reset.digest.0.clone())
                .bind::<Timestamptz, _>(reset.at);
            let q = diesel::sql_query(sql.as_str()).into_boxed();
            let q = bind_spend(q, reset.digest, TokenPurpose::PasswordReset, reset.at)
                .bind::<Text, _>(reset.new_hash.as_str().to_owned())
                .bind::<Text, _>(RevokeReason::PasswordReset.as_str());
            let q =
                Prepared(bind_audit_from(q, reset.audit).bind::<Text, _>(reset.throttle_account.0));
            async move {
                let mut conn = self.conn().await?;
                let spent: SpentBy = crate::rows::after(&mut conn, bump, q).await?;
                Ok(spent.user_id.map(UserId::from_uuid))
            }
        })
        .await
    }

    async fn verify_email(
        &self,
        verification: EmailVerification,
    ) -> Result<Option<UserId>, PortError> {
        let sql = statement(
            &[
                spend(""),
                "verified AS ( \
                    UPDATE users SET email_verified_at = COALESCE(email_verified_at, $3), updated_at = $3 \
                    WHERE id IN (SELECT user_id FROM spent) RETURNING id AS user_id), "
                    .to_owned(),
                audit_from("verified", 4, ""),
            ],
            "SELECT (SELECT user_id FROM verified) AS user_id",
        );
        self.spent_by(|| {
            let verification = verification.clone();
            let q = bind_spend(
                diesel::sql_query(sql.as_str()).into_boxed(),
                verification.digest,
                TokenPurpose::EmailVerification,
                verification.at,
            );
            Prepared(bind_audit_from(q, verification.audit))
        })
        .await
    }
}
