//! Accounts the operator makes: `gatehouse admin create` and the admin
//! that `AUTH_ADMIN_EMAIL`/`AUTH_ADMIN_PASSWORD` ensure at every start.
//! The operator vouches for the address, so it counts as verified; no
//! session starts and no mail goes out.

use std::time::Duration;

use gatehouse_domain::{
    AuditEvent, AuditKind, ClientInfo, DisplayName, Email, Password, PasswordError, Role, User,
    UserId,
};
use tracing::instrument;

use crate::ports::{
    AdminStore, BreachedPasswords, Clock, CreateUserError, NewUser, PasswordHasher, PortError,
    Ports, UpdateUserError, UserStore, UserUpdate, Verified,
};
use crate::use_cases::from_hash_error;

#[derive(Debug, thiserror::Error)]
pub enum CreateAccountError {
    #[error("an account with this email exists")]
    EmailTaken,
    #[error("password refused: {0}")]
    WeakPassword(#[source] PasswordError),
    #[error("password hashing saturated")]
    Overloaded { retry_after: Duration },
    #[error(transparent)]
    Port(#[from] PortError),
}
from_hash_error!(CreateAccountError);

#[derive(Debug)]
pub struct CreateAccount<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> CreateAccount<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// `password` as typed: the password rules apply.
    #[instrument(skip_all, fields(user_id))]
    pub async fn execute(
        &self,
        email: Email,
        password: &Password,
        role: Role,
        name: Option<DisplayName>,
    ) -> Result<User, CreateAccountError> {
        let ports = self.ports;
        let password = Password::new(
            password.expose(),
            &ports.policy().password_rules,
            Some(&email),
        )
        .map_err(CreateAccountError::WeakPassword)?;
        if ports.breached().is_breached(&password).await {
            return Err(CreateAccountError::WeakPassword(
                gatehouse_domain::PasswordError::Breached,
            ));
        }
        let password_hash = ports.hasher().hash(password).await?;
        let now = ports.clock().now();
        let user = User {
            id: UserId::new(),
            email,
            role,
            email_verified: true,
            mfa_enabled: false,
            disabled: false,
            created_at: now,
            name,
            metadata: gatehouse_domain::Metadata::default(),
            password_must_change: false,
            last_sign_in_at: None,
        };
        tracing::Span::current().record("user_id", tracing::field::display(user.id));
        let audit = AuditEvent::new(
            AuditKind::UserRegistered,
            now,
            Some(user.id),
            &ClientInfo::default(),
        )
        .with_detail(serde_json::json!({ "by": "operator", "role": role.as_str() }));
        ports
            .store()
            .create_user(
                NewUser {
                    id: user.id,
                    email: user.email.clone(),
                    password_hash,
                    role,
                    created_at: now,
                    name: user.name.clone(),
                    verification: None,
                    email_verified: true,
                },
                None,
                audit,
            )
            .await
            .map_err(|e| match e {
                CreateUserError::EmailTaken => CreateAccountError::EmailTaken,
                CreateUserError::Port(e) => e.into(),
            })?;
        Ok(user)
    }
}

/// What ensuring the admin did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ensured {
    Created,
    /// The account existed as a user and is an admin now.
    Promoted,
    /// Nothing to do. Its password is left as it is, whatever the
    /// configuration says: it may have been changed since.
    AlreadyAdmin,
    /// The account exists as a user whose password is not the configured
    /// one: left as it is. Whoever registered the address first must not
    /// become admin by the operator's naming it.
    NotPromoted,
}

#[derive(Debug)]
pub struct EnsureAdmin<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> EnsureAdmin<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// Idempotent, and safe when several instances start at once: of two
    /// creations, one wins and the other finds its account.
    #[instrument(skip_all)]
    pub async fn execute(
        &self,
        email: Email,
        password: &Password,
    ) -> Result<Ensured, CreateAccountError> {
        for _ in 0..2 {
            let found = self.ports.store().find_credentials(&email).await?;
            match found {
                Some(c) if c.user.role == Role::Admin => return Ok(Ensured::AlreadyAdmin),
                Some(c) => {
                    let verdict = self
                        .ports
                        .hasher()
                        .verify(password.clone(), Some(c.password_hash))
                        .await?;
                    return match verdict {
                        Verified::Match { .. } => self.promote(c.user.id).await,
                        Verified::Mismatch => Ok(Ensured::NotPromoted),
                    };
                }
                None => {}
            }
            match CreateAccount::new(self.ports)
                .execute(email.clone(), password, Role::Admin, None)
                .await
            {
                Ok(_) => return Ok(Ensured::Created),
                // Another instance created it meanwhile: look again.
                Err(CreateAccountError::EmailTaken) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(Ensured::AlreadyAdmin)
    }

    async fn promote(&self, id: UserId) -> Result<Ensured, CreateAccountError> {
        let now = self.ports.clock().now();
        let audit = AuditEvent::new(
            AuditKind::AdminUserUpdated,
            now,
            Some(id),
            &ClientInfo::default(),
        )
        .with_detail(serde_json::json!({ "by": "operator", "role": "admin" }));
        match self
            .ports
            .store()
            .update_user(UserUpdate {
                user_id: id,
                role: Some(Role::Admin),
                disabled: None,
                at: now,
                audit,
            })
            .await
        {
            Ok(_) => Ok(Ensured::Promoted),
            // Promoting never removes an admin; the account went away.
            Err(UpdateUserError::NotFound | UpdateUserError::LastAdmin) => {
                Ok(Ensured::AlreadyAdmin)
            }
            Err(UpdateUserError::Port(e)) => Err(e.into()),
        }
    }
}
