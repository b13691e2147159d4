//! The caller's own account, read fresh from the store with its session in
//! the same lookup, so that a disabled account or an ended session is
//! refused even while the access token has not expired.

use gatehouse_domain::User;
use tracing::instrument;

use super::from_port_error;
use crate::ports::{AccessClaims, Clock, Ports, UserStore};

#[derive(Debug, thiserror::Error)]
pub enum GetCurrentUserError {
    /// The token names an account that no longer exists.
    #[error("account not found")]
    NotFound,
    #[error("account disabled")]
    AccountDisabled,
    /// The token's session was revoked (logout, reuse, password change) or ended.
    #[error("session ended")]
    SessionEnded,
    #[error("store unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(anyhow::Error),
}
from_port_error!(GetCurrentUserError);

#[derive(Debug)]
pub struct GetCurrentUser<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> GetCurrentUser<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(&self, claims: &AccessClaims) -> Result<User, GetCurrentUserError> {
        let found = self
            .ports
            .store()
            .find_session_user(claims.user_id, claims.session_id, self.ports.clock().now())
            .await?
            .ok_or(GetCurrentUserError::NotFound)?;
        // A disabled account says so first, whatever its sessions.
        if found.user.disabled {
            return Err(GetCurrentUserError::AccountDisabled);
        }
        if !found.session_live {
            return Err(GetCurrentUserError::SessionEnded);
        }
        Ok(found.user)
    }
}
