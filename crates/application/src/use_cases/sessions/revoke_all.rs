use gatehouse_domain::ClientInfo;
use tracing::instrument;

use super::by_user;
use crate::ports::{AccessClaims, Clock, PortError, Ports, SessionStore};
use crate::use_cases::signed_in::{CallerError, caller};

#[derive(Debug, thiserror::Error)]
pub enum RevokeAllSessionsError {
    #[error(transparent)]
    Caller(#[from] CallerError),
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Ends every session of the caller, the current one included ("sign out
/// everywhere").
#[derive(Debug)]
pub struct RevokeAllSessions<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> RevokeAllSessions<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// Answers how many sessions it ended.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        client: &ClientInfo,
    ) -> Result<u64, RevokeAllSessionsError> {
        let user = caller(self.ports, claims).await?;
        let now = self.ports.clock().now();
        Ok(self
            .ports
            .store()
            .revoke_all_sessions(by_user(user.id, now, client))
            .await?)
    }
}
