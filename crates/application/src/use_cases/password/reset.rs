//! Choosing a new password with a reset link. The token is checked (a
//! read) before the new password is hashed, and spent only afterwards, in
//! the store's one atomic step: of two requests with one token, exactly
//! one succeeds. A reset ends every session of the user (whoever knew the
//! old password may hold one) and verifies the email (the link proved the
//! mailbox); MFA stays as it was. A disabled account's links do nothing.

use std::time::Duration;

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Password, PasswordError, SecretString};
use tracing::instrument;

use crate::use_cases::attempts;

use crate::ports::{
    AccountTokenStore, BreachedPasswords, Clock, OpaqueTokens, PasswordHasher, PasswordReset,
    PortError, Ports, TokenPurpose,
};
use crate::use_cases::from_hash_error;

#[derive(Debug)]
pub struct ResetPasswordCommand {
    pub token: SecretString,
    /// As typed: the policy is applied here, where the email is known.
    pub new_password: Password,
    pub client: ClientInfo,
}

#[derive(Debug, thiserror::Error)]
pub enum ResetPasswordError {
    /// Unknown, used or expired.
    #[error("reset token invalid")]
    InvalidToken,
    #[error("new password refused: {0}")]
    WeakPassword(#[source] PasswordError),
    #[error("password hashing saturated")]
    Overloaded { retry_after: Duration },
    #[error(transparent)]
    Port(#[from] PortError),
}
from_hash_error!(ResetPasswordError);

#[derive(Debug)]
pub struct ResetPassword<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> ResetPassword<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id))]
    pub async fn execute(&self, command: ResetPasswordCommand) -> Result<(), ResetPasswordError> {
        use ResetPasswordError as E;
        let ports = self.ports;
        if !ports.opaque().is_account_token(command.token.expose()) {
            return Err(E::InvalidToken);
        }
        let digest = ports.opaque().digest(command.token.expose());
        let user = ports
            .store()
            .find_token_user(&digest, TokenPurpose::PasswordReset, ports.clock().now())
            .await?
            .ok_or(E::InvalidToken)?;
        tracing::Span::current().record("user_id", tracing::field::display(user.id));
        let new = Password::new(
            command.new_password.expose(),
            &ports.policy().password_rules,
            Some(&user.email),
        )
        .map_err(E::WeakPassword)?;
        if ports.breached().is_breached(&new).await {
            return Err(E::WeakPassword(gatehouse_domain::PasswordError::Breached));
        }
        let new_hash = ports.hasher().hash(new).await?;
        let now = ports.clock().now();
        ports
            .store()
            .reset_password(PasswordReset {
                digest,
                new_hash,
                at: now,
                throttle_account: attempts::keys(ports, &user.email, &command.client).account,
                audit: AuditEvent::new(AuditKind::PasswordReset, now, None, &command.client),
            })
            .await?
            // Spent meanwhile by a concurrent reset, or expired while hashing.
            .ok_or(E::InvalidToken)?;
        Ok(())
    }
}
