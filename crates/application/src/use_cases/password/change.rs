//! Changing the password of a signed-in user. The current password is
//! checked first; the new one must meet the same policy as at sign-up.
//! Every other session of the user ends with the old password: someone who
//! knew it may hold one. The caller's own session (its `sid`) stays.

use std::time::Duration;

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Password, PasswordError};
use tracing::instrument;

use crate::ports::{
    AccessClaims, ApiKeyStore, BreachedPasswords, Clock, PasswordChange, PasswordHasher, PortError,
    Ports, RevokeReason, UserStore,
};
use crate::use_cases::from_hash_error;
use crate::use_cases::mail::{letters, outgoing};
use crate::use_cases::signed_in::{CallerError, ConfirmPasswordError, caller, confirm_password};

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
    /// Too many wrong passwords for this account: locked out.
    #[error("too many failed attempts")]
    Throttled { retry_after: Duration },
    #[error("password hashing saturated")]
    Overloaded { retry_after: Duration },
    #[error(transparent)]
    Caller(#[from] CallerError),
    #[error(transparent)]
    Port(#[from] PortError),
}

from_hash_error!(ChangePasswordError);

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
        if ports.breached().is_breached(&new).await {
            return Err(E::WeakPassword(PasswordError::Breached));
        }
        let stored = confirm_password(
            ports,
            &user,
            command.current,
            &command.client,
            "wrong_current_password",
        )
        .await
        .map_err(|e| match e {
            // No code is asked here: the new password is the proof.
            ConfirmPasswordError::Wrong
            | ConfirmPasswordError::MfaRequired
            | ConfirmPasswordError::MfaInvalid => E::InvalidCredentials,
            ConfirmPasswordError::Throttled { retry_after } => E::Throttled { retry_after },
            ConfirmPasswordError::Caller(e) => E::Caller(e),
            ConfirmPasswordError::Hash(e) => E::from(e),
            ConfirmPasswordError::Port(e) => E::Port(e),
        })?;
        let new_hash = ports.hasher().hash(new).await?;
        let now = ports.clock().now();
        let live_keys = ports.store().live_api_keys(user.id, now).await?;
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
                notice: outgoing(
                    ports,
                    &user.email,
                    letters::password_changed(&live_keys),
                    now,
                )?,
            })
            .await?;
        if !changed {
            return Err(E::InvalidCredentials);
        }
        Ok(())
    }
}
