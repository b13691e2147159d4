use gatehouse_domain::{ClientInfo, SessionId};
use tracing::instrument;

use super::by_user;
use crate::ports::{AccessClaims, Clock, PortError, Ports, SessionStore};
use crate::use_cases::signed_in::{CallerError, caller};

#[derive(Debug, thiserror::Error)]
pub enum RevokeSessionError {
    /// Unknown, or another user's: the answer is the same, so that session
    /// ids of other users cannot be probed.
    #[error("session not found")]
    NotFound,
    #[error(transparent)]
    Caller(#[from] CallerError),
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Ends one of the caller's sessions, the current one included.
#[derive(Debug)]
pub struct RevokeSession<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> RevokeSession<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        session_id: SessionId,
        client: &ClientInfo,
    ) -> Result<(), RevokeSessionError> {
        let user = caller(self.ports, claims).await?;
        let now = self.ports.clock().now();
        let found = self
            .ports
            .store()
            .revoke_own_session(session_id, by_user(user.id, now, client))
            .await?;
        if found {
            Ok(())
        } else {
            Err(RevokeSessionError::NotFound)
        }
    }
}
