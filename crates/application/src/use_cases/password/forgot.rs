//! "I forgot my password": a reset link by mail, if the email belongs to an
//! enabled account. The answer never says whether it does, and the work
//! is the same either way: the token and its sealed mail are made before
//! the store is asked, the store writes them only for a known email, and
//! it records the request in the audit log in every case (so an unknown
//! email commits a write as well).

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Email};
use tracing::instrument;

use crate::ports::{AccountTokenStore, Clock, PortError, Ports, ResetRequest, TokenPurpose};
use crate::use_cases::mail::{hourly_limit, mailed_token};

#[derive(Debug, thiserror::Error)]
pub enum RequestPasswordResetError {
    #[error(transparent)]
    Port(#[from] PortError),
}

#[derive(Debug)]
pub struct RequestPasswordReset<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> RequestPasswordReset<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all)]
    pub async fn execute(
        &self,
        email: Email,
        client: &ClientInfo,
    ) -> Result<(), RequestPasswordResetError> {
        let ports = self.ports;
        let now = ports.clock().now();
        let token = mailed_token(ports, TokenPurpose::PasswordReset, &email, now)?;
        ports
            .store()
            .request_password_reset(ResetRequest {
                email,
                token,
                throttle: hourly_limit(now),
                audit: AuditEvent::new(AuditKind::PasswordResetRequested, now, None, client),
            })
            .await?;
        Ok(())
    }
}
