//! Ending the session a refresh token belongs to. Idempotent: unknown or
//! already-ended tokens succeed silently, so logout never tells an attacker
//! anything.

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo};
use tracing::instrument;

use crate::ports::{
    AuditTx, Clock, OpaqueTokens, PortError, Ports, RevokeReason, SessionTx, Transactional,
    UnitOfWork,
};

#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    #[error(transparent)]
    Port(#[from] PortError),
}

#[derive(Debug)]
pub struct Logout<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> Logout<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id))]
    pub async fn execute(&self, presented: &str, client: &ClientInfo) -> Result<(), LogoutError> {
        let ports = self.ports;
        if !ports.opaque().is_well_formed(presented) {
            return Ok(());
        }
        let digest = ports.opaque().digest(presented);
        let mut tx = ports.store().begin().await?;
        if let Some(token) = tx.lock_token(&digest).await?
            && !token.presented.session_revoked
        {
            tracing::Span::current().record("user_id", tracing::field::display(token.user_id));
            let now = ports.clock().now();
            tx.revoke_session(token.session_id, now, RevokeReason::Logout)
                .await?;
            let audit = AuditEvent::new(AuditKind::SessionRevoked, now, Some(token.user_id), client)
                .with_detail(serde_json::json!({ "session_id": token.session_id.to_string(), "reason": "logout" }));
            tx.record(audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
