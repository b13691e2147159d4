//! The caller's own account (`GET /v1/users/me`).

use gatehouse_domain::User;
use tracing::instrument;

use super::signed_in::{CallerError, caller};
use crate::ports::{AccessClaims, Ports};

#[derive(Debug, thiserror::Error)]
pub enum GetCurrentUserError {
    #[error(transparent)]
    Caller(#[from] CallerError),
}

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
        Ok(caller(self.ports, claims).await?)
    }
}
