//! Where every call under `/v1/users/me` starts: the caller's account,
//! read fresh with the liveness of the access token's session in one
//! lookup. A signature alone is not enough: a disabled account, or a
//! session that was logged out or revoked, is refused even while the access
//! token has not expired.

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Password, PasswordHash, User};

use super::attempts::{self, Begun};
use super::mfa::second_factor_passes;
use crate::ports::{
    AccessClaims, AuditLog, Clock, HashError, LoginAttempt, PasswordHasher, PortError, Ports,
    SignInStore, UserStore, Verified,
};

/// Why a well-signed access token does not make a caller.
#[derive(Debug, thiserror::Error)]
pub enum CallerError {
    /// The token names an account that no longer exists.
    #[error("account not found")]
    Gone,
    #[error("account disabled")]
    Disabled,
    /// The token's session was revoked (logout, reuse, password change) or ended.
    #[error("session ended")]
    SessionEnded,
    #[error(transparent)]
    Port(#[from] PortError),
}

/// The caller behind `claims`. A disabled account says so first, whatever
/// its sessions.
///
/// # Errors
/// As [`CallerError`] says.
pub async fn caller<P: Ports>(ports: &P, claims: &AccessClaims) -> Result<User, CallerError> {
    let found = ports
        .store()
        .find_session_user(claims.user_id, claims.session_id, ports.clock().now())
        .await?
        .ok_or(CallerError::Gone)?;
    if found.user.disabled {
        return Err(CallerError::Disabled);
    }
    if !found.session_live {
        return Err(CallerError::SessionEnded);
    }
    Ok(found.user)
}

/// The access token proves a credential recent enough for a sensitive
/// operation: its `auth_time` is at most `AUTH_REAUTH_MAX_AGE_SECS` old. A
/// stolen access token alone then buys no lasting access (keys, a second
/// factor of the thief's).
pub fn is_recent<P: Ports>(ports: &P, claims: &AccessClaims) -> bool {
    let oldest = super::issue::sub(ports.clock().now(), ports.policy().reauth_max_age);
    claims.auth_time >= oldest
}

/// Why the caller's password was not confirmed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmPasswordError {
    #[error("invalid credentials")]
    Wrong,
    /// The password matched; MFA is on and no code came with it.
    #[error("second factor required")]
    MfaRequired,
    /// The password matched; the code did not. Counts as a failure.
    #[error("second factor invalid")]
    MfaInvalid,
    /// Too many wrong passwords for this account: locked out.
    #[error("too many failed attempts")]
    Throttled { retry_after: std::time::Duration },
    #[error(transparent)]
    Caller(#[from] CallerError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Whether a code is asked with the password.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SecondFactor<'a> {
    /// The password alone (a password change: the new one is the proof).
    NotAsked,
    /// A code too when the account has MFA on; `None` if none came.
    IfEnabled(Option<&'a str>),
}

/// A confirmed proof, and the attempt it was counted under (to be taken
/// back or forgotten by the caller, as the operation's success demands).
#[derive(Debug)]
pub(crate) struct Confirmed {
    pub password_hash: PasswordHash,
    pub attempt: LoginAttempt,
}

/// Checks the signed-in caller's password (and code, as `factor` asks)
/// before a sensitive operation. A stolen session must not become a way to
/// guess the password: each check is counted when it starts, under the
/// account's lockout as a login is, and a locked account is refused before
/// any hashing.
///
/// # Errors
/// As [`ConfirmPasswordError`] says.
pub(crate) async fn confirm_credentials<P: Ports>(
    ports: &P,
    user: &User,
    password: Password,
    factor: SecondFactor<'_>,
    client: &ClientInfo,
    reason: &'static str,
) -> Result<Confirmed, ConfirmPasswordError> {
    let (attempt, found) = match attempts::begin(ports, &user.email, client).await? {
        Begun::Started(attempt, found) => (attempt, found),
        Begun::Throttled(retry_after) => {
            return Err(ConfirmPasswordError::Throttled { retry_after });
        }
    };
    let stored = found.credentials.ok_or(CallerError::Gone)?.password_hash;
    let verdict = match ports.hasher().verify(password, Some(stored.clone())).await {
        Ok(verdict) => verdict,
        Err(e) => {
            ports.store().refund_login_attempt(&attempt).await?;
            return Err(e.into());
        }
    };
    let failed = |factor: &'static str| {
        AuditEvent::new(
            AuditKind::LoginFailed,
            ports.clock().now(),
            Some(user.id),
            client,
        )
        .with_detail(serde_json::json!({ "reason": reason, "factor": factor }))
    };
    if verdict == Verified::Mismatch {
        ports.store().record(failed("password")).await?;
        return Err(ConfirmPasswordError::Wrong);
    }
    if let SecondFactor::IfEnabled(code) = factor
        && user.mfa_enabled
    {
        let Some(code) = code else {
            ports.store().refund_login_attempt(&attempt).await?;
            return Err(ConfirmPasswordError::MfaRequired);
        };
        if !second_factor_passes(ports, user.id, code).await? {
            ports.store().record(failed("otp")).await?;
            return Err(ConfirmPasswordError::MfaInvalid);
        }
    }
    Ok(Confirmed {
        password_hash: stored,
        attempt,
    })
}

/// [`confirm_credentials`] with the password alone. Confirmed, it was no
/// guess, and no sign-in either: the counts stay as they were before it.
///
/// # Errors
/// As [`ConfirmPasswordError`] says.
pub(crate) async fn confirm_password<P: Ports>(
    ports: &P,
    user: &User,
    password: Password,
    client: &ClientInfo,
    reason: &'static str,
) -> Result<PasswordHash, ConfirmPasswordError> {
    let confirmed = confirm_credentials(
        ports,
        user,
        password,
        SecondFactor::NotAsked,
        client,
        reason,
    )
    .await?;
    ports
        .store()
        .refund_login_attempt(&confirmed.attempt)
        .await?;
    Ok(confirmed.password_hash)
}
