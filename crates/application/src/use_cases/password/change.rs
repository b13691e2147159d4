//! Changing the password of a signed-in user. The current password is
//! checked first; the new one must meet the same policy as at sign-up.
//! Every other session of the user ends with the old password: someone who
//! knew it may hold one. The caller's own session (its `sid`) stays.

use std::time::Duration;

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Password, PasswordError};
use tracing::instrument;

use crate::ports::{
    AccessClaims, Clock, HashError, PasswordChange, PasswordHasher, PortError, Ports, RevokeReason,
    UserStore, Verified,
};
use crate::use_cases::mail::{letters, outgoing};
use crate::use_cases::signed_in::{CallerError, caller};

#[derive(Debug)]
pub struct ChangePasswordCommand {
    /// As typed: only normalised, since it was set under whatever policy
    /// held then.
    pub current: Password,
    /// As typed: the policy is applied here, where the email is known.
    pub new: Password,
    pub client: ClientInfo,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// The current password is wrong (or changed meanwhile).
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("new password refused: {0}")]
    WeakPassword(#[source] PasswordError),
    #[error("password hashing saturated")]
    Overloaded { retry_after: Duration },
    #[error(transparent)]
    Caller(#[from] CallerError),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<HashError> for ChangePasswordError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Overloaded { retry_after } => Self::Overloaded { retry_after },
            HashError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

#[derive(Debug)]
pub struct ChangePassword<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> ChangePassword<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        command: ChangePasswordCommand,
    ) -> Result<(), ChangePasswordError> {
        use ChangePasswordError as E;
        let ports = self.ports;
        let user = caller(ports, claims).await?;
        // Cheap checks before any hashing.
        let new = Password::new(
            command.new.expose(),
            &ports.policy().password_rules,
            Some(&user.email),
        )
        .map_err(E::WeakPassword)?;
        let stored = ports
            .store()
            .find_credentials(&user.email)
            .await?
            .ok_or(CallerError::Gone)?
            .password_hash;
        let verdict = ports
            .hasher()
            .verify(command.current, Some(stored.clone()))
            .await?;
        if verdict == Verified::Mismatch {
            return Err(E::InvalidCredentials);
        }
        let new_hash = ports.hasher().hash(new).await?;
        let now = ports.clock().now();
        let changed = ports
            .store()
            .change_password(PasswordChange {
                user_id: user.id,
                old_hash: stored,
                new_hash,
                keep_session: Some(claims.session_id),
                at: now,
                reason: RevokeReason::PasswordChanged,
                audit: AuditEvent::new(
                    AuditKind::PasswordChanged,
                    now,
                    Some(user.id),
                    &command.client,
                ),
                notice: outgoing(ports, &user.email, letters::password_changed(), now)?,
            })
            .await?;
        if !changed {
            return Err(E::InvalidCredentials);
        }
        Ok(())
    }
}
