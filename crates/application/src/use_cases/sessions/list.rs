use tracing::instrument;

use crate::ports::{AccessClaims, Clock, PortError, Ports, SessionStore, SessionView};
use crate::use_cases::signed_in::{CallerError, caller};

#[derive(Debug, thiserror::Error)]
pub enum ListSessionsError {
    #[error(transparent)]
    Caller(#[from] CallerError),
    #[error(transparent)]
    Port(#[from] PortError),
}

/// One live session, and whether it is the one the caller's token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedSession {
    pub session: SessionView,
    pub current: bool,
}

#[derive(Debug)]
pub struct ListSessions<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> ListSessions<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
    ) -> Result<Vec<ListedSession>, ListSessionsError> {
        let user = caller(self.ports, claims).await?;
        let sessions = self
            .ports
            .store()
            .live_sessions(user.id, self.ports.clock().now())
            .await?;
        Ok(sessions
            .into_iter()
            .map(|session| ListedSession {
                current: session.id == claims.session_id,
                session,
            })
            .collect())
    }
}
