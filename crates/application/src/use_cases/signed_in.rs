//! Where every call under `/v1/users/me` starts: the caller's account,
//! read fresh with the liveness of the access token's session in one
//! lookup. A signature alone is not enough: a disabled account, or a
//! session that was logged out or revoked, is refused even while the access
//! token has not expired.

use gatehouse_domain::User;

use crate::ports::{AccessClaims, Clock, PortError, Ports, UserStore};

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
