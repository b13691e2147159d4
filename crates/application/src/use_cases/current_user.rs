//! The caller's own account, read fresh from the store so that a disabled
//! account is refused even while its access token has not expired.

use gatehouse_domain::User;
use tracing::instrument;

use super::from_port_error;
use crate::ports::{AccessClaims, Ports, UserStore};

#[derive(Debug, thiserror::Error)]
pub enum GetCurrentUserError {
    /// The token names an account that no longer exists.
    #[error("account not found")]
    NotFound,
    #[error("account disabled")]
    AccountDisabled,
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
        let user = self
            .ports
            .store()
            .find_user(claims.user_id)
            .await?
            .ok_or(GetCurrentUserError::NotFound)?;
        if user.disabled {
            return Err(GetCurrentUserError::AccountDisabled);
        }
        Ok(user)
    }
}
