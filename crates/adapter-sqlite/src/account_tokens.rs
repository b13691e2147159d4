//! Reset and verification links: each spend is one transaction, so two
//! requests with one token never both succeed.

use diesel::sql_types::{BigInt, Binary, Bool, Text};
use diesel::{OptionalExtension, QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    AccountTokenStore, EmailVerification, PasswordReset, ResetRequest, RevokeReason, Throttle,
    TokenDigest, TokenPurpose, VerificationRequest,
};
use gatehouse_domain::{Timestamp, User, UserId};

use crate::SqliteStore;
use crate::codec::{Count, IdRow, USER_COLUMNS, UserColumns, micros, uuid};
use crate::writes::{Sessions, end_sessions, insert_account_token, insert_audit, with_detail};

fn throttled(
    c: &mut SqliteConnection,
    user_id: UserId,
    purpose: TokenPurpose,
    throttle: Throttle,
) -> QueryResult<bool> {
    let recent = diesel::sql_query(
        "SELECT count(*) AS n FROM account_tokens WHERE user_id = ? AND purpose = ? AND created_at > ?",
    )
    .bind::<Text, _>(user_id.to_string())
    .bind::<Text, _>(purpose.as_str())
    .bind::<BigInt, _>(micros(throttle.since))
    .get_result::<Count>(c)?
    .n;
    Ok(recent >= i64::from(throttle.max))
}

#[derive(QueryableByName)]
struct Spendable {
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(sql_type = Bool)]
    user_disabled: bool,
}

/// Spends the token and its user's other tokens of the purpose, if it is
/// live at `at` (and its user enabled, when `enabled_only`); answers its
/// user.
fn spend(
    c: &mut SqliteConnection,
    digest: &TokenDigest,
    purpose: TokenPurpose,
    at: Timestamp,
    enabled_only: bool,
) -> QueryResult<Option<UserId>> {
    let found: Option<Spendable> = diesel::sql_query(
        "SELECT t.user_id, u.disabled_at IS NOT NULL AS user_disabled \
         FROM account_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.digest = ? AND t.purpose = ? AND t.used_at IS NULL AND t.expires_at > ?",
    )
    .bind::<Binary, _>(&digest.0)
    .bind::<Text, _>(purpose.as_str())
    .bind::<BigInt, _>(micros(at))
    .get_result(c)
    .optional()?;
    let Some(found) = found.filter(|f| !(enabled_only && f.user_disabled)) else {
        return Ok(None);
    };
    diesel::sql_query(
        "UPDATE account_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL",
    )
    .bind::<BigInt, _>(micros(at))
    .bind::<Text, _>(&found.user_id)
    .bind::<Text, _>(purpose.as_str())
    .execute(c)?;
    Ok(Some(UserId::from_uuid(uuid(&found.user_id)?)))
}

#[derive(QueryableByName)]
struct Verified {
    #[diesel(sql_type = Bool)]
    verified: bool,
}

impl AccountTokenStore for SqliteStore {
    async fn request_password_reset(&self, request: ResetRequest) -> Result<bool, PortError> {
        self.write(move |c| {
            let user: Option<IdRow> =
                diesel::sql_query("SELECT id FROM users WHERE email = ? AND disabled_at IS NULL")
                    .bind::<Text, _>(request.email.as_str())
                    .get_result(c)
                    .optional()?;
            let user_id = user
                .map(|row| uuid(&row.id).map(UserId::from_uuid))
                .transpose()?;
            // An unknown email writes nothing, as the port says.
            let Some(id) = user_id else {
                return Ok(false);
            };
            let mailed = !throttled(c, id, TokenPurpose::PasswordReset, request.throttle)?;
            if mailed {
                insert_account_token(c, id, &request.token)?;
            }
            let mut audit = with_detail(&request.audit, "mailed", mailed.into());
            audit.user_id = Some(id);
            insert_audit(c, &audit)?;
            Ok(mailed)
        })
        .await
    }

    async fn request_verification(&self, request: VerificationRequest) -> Result<bool, PortError> {
        self.write(move |c| {
            let verified: Option<Verified> = diesel::sql_query(
                "SELECT email_verified_at IS NOT NULL AS verified FROM users WHERE id = ?",
            )
            .bind::<Text, _>(request.user_id.to_string())
            .get_result(c)
            .optional()?;
            match verified {
                Some(v) if !v.verified => {}
                _ => return Ok(false),
            }
            if throttled(
                c,
                request.user_id,
                TokenPurpose::EmailVerification,
                request.throttle,
            )? {
                return Ok(false);
            }
            insert_account_token(c, request.user_id, &request.token)?;
            Ok(true)
        })
        .await
    }

    async fn find_token_user(
        &self,
        digest: &TokenDigest,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<Option<User>, PortError> {
        let digest = digest.0.clone();
        self.read(move |c| {
            diesel::sql_query(format!(
                "SELECT {USER_COLUMNS} FROM account_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.digest = ? AND t.purpose = ? AND t.used_at IS NULL AND t.expires_at > ?"
            ))
            .bind::<Binary, _>(digest)
            .bind::<Text, _>(purpose.as_str())
            .bind::<BigInt, _>(micros(now))
            .get_result::<UserColumns>(c)
            .optional()?
            .map(UserColumns::into_user)
            .transpose()
        })
        .await
    }

    async fn reset_password(&self, reset: PasswordReset) -> Result<Option<UserId>, PortError> {
        self.write(move |c| {
            let Some(user_id) = spend(c, &reset.digest, TokenPurpose::PasswordReset, reset.at, true)?
            else {
                return Ok(None);
            };
            let at = micros(reset.at);
            diesel::sql_query(
                "UPDATE users SET password_hash = ?, email_verified_at = coalesce(email_verified_at, ?), \
                 updated_at = ?, password_must_change = 0 WHERE id = ?",
            )
            .bind::<Text, _>(reset.new_hash.as_str())
            .bind::<BigInt, _>(at)
            .bind::<BigInt, _>(at)
            .bind::<Text, _>(user_id.to_string())
            .execute(c)?;
            // Whoever had the password may have made keys with it.
            diesel::sql_query(
                "UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
            )
            .bind::<BigInt, _>(at)
            .bind::<Text, _>(user_id.to_string())
            .execute(c)?;
            let ended = end_sessions(
                c,
                user_id,
                Sessions::All,
                reset.at,
                RevokeReason::PasswordReset,
            )?;
            let mut audit = with_detail(&reset.audit, "sessions_ended", ended.len().into());
            audit.user_id = Some(user_id);
            insert_audit(c, &audit)?;
            diesel::sql_query("DELETE FROM login_throttle WHERE account = ?")
                .bind::<Text, _>(&reset.throttle_account.0)
                .execute(c)?;
            Ok(Some(user_id))
        })
        .await
    }

    async fn verify_email(
        &self,
        verification: EmailVerification,
    ) -> Result<Option<UserId>, PortError> {
        self.write(move |c| {
            let Some(user_id) = spend(
                c,
                &verification.digest,
                TokenPurpose::EmailVerification,
                verification.at,
                false,
            )?
            else {
                return Ok(None);
            };
            let at = micros(verification.at);
            diesel::sql_query(
                "UPDATE users SET email_verified_at = coalesce(email_verified_at, ?), updated_at = ? WHERE id = ?",
            )
            .bind::<BigInt, _>(at)
            .bind::<BigInt, _>(at)
            .bind::<Text, _>(user_id.to_string())
            .execute(c)?;
            let mut audit = verification.audit;
            audit.user_id = Some(user_id);
            insert_audit(c, &audit)?;
            Ok(Some(user_id))
        })
        .await
    }
}
