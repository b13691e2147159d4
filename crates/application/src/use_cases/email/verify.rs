//! Spending a verification link: the email is verified, in one atomic
//! step of the store, and the account's other links are spent with it.

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo};
use tracing::instrument;

use crate::ports::{AccountTokenStore, Clock, EmailVerification, OpaqueTokens, PortError, Ports};

#[derive(Debug, thiserror::Error)]
pub enum VerifyEmailError {
    /// Unknown, used or expired.
    #[error("verification token invalid")]
    InvalidToken,
    #[error(transparent)]
    Port(#[from] PortError),
}

#[derive(Debug)]
pub struct VerifyEmail<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> VerifyEmail<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id))]
    pub async fn execute(&self, token: &str, client: &ClientInfo) -> Result<(), VerifyEmailError> {
        let ports = self.ports;
        if !ports.opaque().is_account_token(token) {
            return Err(VerifyEmailError::InvalidToken);
        }
        let now = ports.clock().now();
        let user_id = ports
            .store()
            .verify_email(EmailVerification {
                digest: ports.opaque().digest(token),
                at: now,
                audit: AuditEvent::new(AuditKind::EmailVerified, now, None, client),
            })
            .await?
            .ok_or(VerifyEmailError::InvalidToken)?;
        tracing::Span::current().record("user_id", tracing::field::display(user_id));
        Ok(())
    }
}
