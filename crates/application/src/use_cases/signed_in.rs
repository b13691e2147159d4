//! Where every call under `/v1/users/me` starts: the caller's account,
//! read fresh with the liveness of the access token's session in one
//! lookup. A signature alone is not enough: a disabled account, or a
//! session that was logged out or revoked, is refused even while the access
//! token has not expired.

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Password, PasswordHash, User};

use super::attempts::{self, Begun};
use crate::ports::{
    AccessClaims, AuditLog, Clock, HashError, LoginThrottleStore, PasswordHasher, PortError, Ports,
    UserStore, Verified,
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

/// Why the caller's password was not confirmed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmPasswordError {
    #[error("invalid credentials")]
    Wrong,
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

/// Checks the signed-in caller's password before a sensitive change. A
/// stolen session must not become a way to guess the password: a wrong
/// one counts towards the account's lockout as a failed login does, and a
/// locked account is refused before any hashing. Answers the stored hash
/// that matched.
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
    if verdict == Verified::Mismatch {
        let now = ports.clock().now();
        ports
            .store()
            .record(
                AuditEvent::new(AuditKind::LoginFailed, now, Some(user.id), client)
                    .with_detail(serde_json::json!({ "reason": reason })),
            )
            .await?;
        return Err(ConfirmPasswordError::Wrong);
    }
    // Confirmed: no guess, and no sign-in either (the counts stay as they
    // were before this attempt).
    ports.store().refund_login_attempt(&attempt).await?;
    Ok(stored)
}
