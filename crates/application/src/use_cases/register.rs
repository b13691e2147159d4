//! Creating an account: always role `user`, a verification mail queued
//! with it, and a first session so the client is signed in at once (none
//! when a verified email is required before signing in).

use std::time::Duration;

use gatehouse_domain::{
    Amr, AuditEvent, AuditKind, ClientInfo, DisplayName, Email, Metadata, Password, Role, User,
    UserId,
};
use tracing::instrument;

use super::from_hash_error;
use super::issue::{self, TokenPair};
use super::mail::mailed_token;
use crate::ports::{
    BreachedPasswords, Clock, CreateUserError, NewUser, PasswordHasher, PortError, Ports,
    TokenPurpose, UserStore,
};

#[derive(Debug)]
pub struct RegisterCommand {
    pub email: Email,
    /// Already checked against the password policy.
    pub password: Password,
    pub name: Option<DisplayName>,
    pub client: ClientInfo,
}

#[derive(Debug)]
pub struct Registered {
    pub user: User,
    /// `None` when the policy requires a verified email first.
    pub tokens: Option<TokenPair>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("email already registered")]
    EmailTaken,
    /// The password is known from breaches (the remote check; the bundled
    /// list is the domain's rules, applied when the password was made).
    #[error("password refused: {0}")]
    WeakPassword(#[source] gatehouse_domain::PasswordError),
    #[error("password hashing saturated")]
    Overloaded { retry_after: Duration },
    #[error(transparent)]
    Port(#[from] PortError),
}
from_hash_error!(RegisterError);

#[derive(Debug)]
pub struct Register<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> Register<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id))]
    pub async fn execute(&self, command: RegisterCommand) -> Result<Registered, RegisterError> {
        let ports = self.ports;
        if ports.breached().is_breached(&command.password).await {
            return Err(RegisterError::WeakPassword(
                gatehouse_domain::PasswordError::Breached,
            ));
        }
        // Hash before touching the store: no transaction waits on Argon2.
        let password_hash = ports.hasher().hash(command.password).await?;
        let now = ports.clock().now();
        let user = User {
            id: UserId::new(),
            email: command.email,
            role: Role::User,
            email_verified: false,
            mfa_enabled: false,
            disabled: false,
            created_at: now,
            name: command.name,
            metadata: Metadata::default(),
            password_must_change: false,
            last_sign_in_at: None,
        };
        tracing::Span::current().record("user_id", tracing::field::display(user.id));
        let amr = Amr::Password;
        let session = if ports.policy().require_verified_email {
            None
        } else {
            Some(issue::new_session(
                ports,
                user.id,
                amr,
                &command.client,
                now,
            )?)
        };
        let audit = AuditEvent::new(
            AuditKind::UserRegistered,
            now,
            Some(user.id),
            &command.client,
        );
        let new_user = NewUser {
            id: user.id,
            email: user.email.clone(),
            password_hash,
            role: user.role,
            created_at: now,
            name: user.name.clone(),
            verification: Some(mailed_token(
                ports,
                TokenPurpose::EmailVerification,
                &user.email,
                now,
            )?),
            email_verified: false,
        };
        let session_id = session.as_ref().map(|(s, _)| s.id);
        let user = User {
            last_sign_in_at: session_id.map(|_| now),
            ..user
        };
        let (session, refresh_token) = session.unzip();
        ports
            .store()
            .create_user(new_user, session, audit)
            .await
            .map_err(|e| match e {
                CreateUserError::EmailTaken => RegisterError::EmailTaken,
                CreateUserError::Port(e) => e.into(),
            })?;
        let tokens = match (session_id, refresh_token) {
            (Some(session_id), Some(refresh_token)) => {
                let access_token = issue::access_token(
                    ports,
                    user.id,
                    issue::SessionFacts {
                        session_id,
                        role: user.role,
                        amr,
                        auth_time: now,
                    },
                    now,
                )?;
                Some(issue::pair(ports, access_token, refresh_token))
            }
            _ => None,
        };
        Ok(Registered { user, tokens })
    }
}
