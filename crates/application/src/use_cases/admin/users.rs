use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Role, User, UserId};
use tracing::instrument;

use super::{AdminError, MAX_PAGE, admin};
use crate::ports::{
    AccessClaims, AccountTokenStore, AdminStore, Clock, MfaRemoval, MfaStore, Ports, ResetRequest,
    RevokeReason, SessionRevocation, SessionStore, SessionView, TokenPurpose, UpdateUserError,
    UserQuery, UserStore, UserUpdate,
};
use crate::use_cases::mail::{hourly_limit, letters, mailed_token, outgoing};

/// One page of users in id order, and where the next begins.
#[derive(Debug)]
pub struct UserPage {
    pub items: Vec<User>,
    pub next_after: Option<UserId>,
}

#[derive(Debug)]
pub struct ListUsers<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> ListUsers<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// A page of users after `after`, those whose email contains
    /// `email_contains` (any case) when it is given.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        after: Option<UserId>,
        limit: u32,
        email_contains: Option<&str>,
    ) -> Result<UserPage, AdminError> {
        admin(self.ports, claims).await?;
        let limit = limit.clamp(1, MAX_PAGE);
        // One more than asked tells whether another page follows.
        let mut items = self
            .ports
            .store()
            .list_users(UserQuery {
                after,
                limit: limit + 1,
                email_contains: email_contains.map(|e| e.trim().to_lowercase()),
            })
            .await?;
        let next_after = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|u| u.id)
        } else {
            None
        };
        Ok(UserPage { items, next_after })
    }
}

#[derive(Debug)]
pub struct GetUser<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> GetUser<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(&self, claims: &AccessClaims, id: UserId) -> Result<User, AdminError> {
        admin(self.ports, claims).await?;
        self.ports
            .store()
            .find_user(id)
            .await?
            .ok_or(AdminError::NotFound)
    }
}

#[derive(Debug)]
pub struct UpdateUser<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> UpdateUser<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// Changes the role and/or the disabled flag. Disabling ends every
    /// session of the user; the last enabled admin stays one.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        id: UserId,
        role: Option<Role>,
        disabled: Option<bool>,
        client: &ClientInfo,
    ) -> Result<User, AdminError> {
        let me = admin(self.ports, claims).await?;
        let now = self.ports.clock().now();
        let audit = AuditEvent::new(AuditKind::AdminUserUpdated, now, Some(id), client)
            .with_detail(serde_json::json!({
                "by": me.id.to_string(),
                "role": role.map(|r| r.as_str()),
                "disabled": disabled,
            }));
        self.ports
            .store()
            .update_user(UserUpdate {
                user_id: id,
                role,
                disabled,
                at: now,
                audit,
            })
            .await
            .map_err(|e| match e {
                UpdateUserError::NotFound => AdminError::NotFound,
                UpdateUserError::LastAdmin => AdminError::LastAdmin,
                UpdateUserError::Port(e) => e.into(),
            })
    }
}

#[derive(Debug)]
pub struct RemoveUserMfa<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> RemoveUserMfa<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// Removes the user's second factor (TOTP and backup codes) for a user
    /// who lost them, ends every session and mails the user a notice.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        id: UserId,
        client: &ClientInfo,
    ) -> Result<(), AdminError> {
        let me = admin(self.ports, claims).await?;
        let store = self.ports.store();
        let user = store.find_user(id).await?.ok_or(AdminError::NotFound)?;
        let now = self.ports.clock().now();
        let removed = store
            .remove_mfa(MfaRemoval {
                user_id: id,
                at: now,
                audit: AuditEvent::new(AuditKind::MfaDisabled, now, Some(id), client)
                    .with_detail(serde_json::json!({ "by": me.id.to_string() })),
                notice: outgoing(
                    self.ports,
                    &user.email,
                    letters::mfa_removed_by_admin(),
                    now,
                )?,
            })
            .await?;
        if removed {
            Ok(())
        } else {
            Err(AdminError::NotFound)
        }
    }
}

#[derive(Debug)]
pub struct RevokeUserSessions<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> RevokeUserSessions<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// Ends every session of the user; answers how many.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        id: UserId,
        client: &ClientInfo,
    ) -> Result<u64, AdminError> {
        let me = admin(self.ports, claims).await?;
        let store = self.ports.store();
        store.find_user(id).await?.ok_or(AdminError::NotFound)?;
        let now = self.ports.clock().now();
        let reason = RevokeReason::AdminAction;
        Ok(store
            .revoke_all_sessions(SessionRevocation {
                user_id: id,
                at: now,
                reason,
                audit: AuditEvent::new(AuditKind::SessionRevoked, now, Some(id), client)
                    .with_detail(serde_json::json!({
                        "reason": reason.as_str(),
                        "by": me.id.to_string(),
                    })),
            })
            .await?)
    }
}

#[derive(Debug)]
pub struct ListUserSessions<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> ListUserSessions<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// The user's live sessions, most recently used first, as the user
    /// would see them (none is the admin's own "current" one).
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        id: UserId,
    ) -> Result<Vec<SessionView>, AdminError> {
        admin(self.ports, claims).await?;
        let store = self.ports.store();
        store.find_user(id).await?.ok_or(AdminError::NotFound)?;
        Ok(store.live_sessions(id, self.ports.clock().now()).await?)
    }
}

#[derive(Debug)]
pub struct SendPasswordReset<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> SendPasswordReset<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// Mails the user a reset link, as a request of the user's own would:
    /// within the same hourly limit, and none to a disabled account. The
    /// event names the admin.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        id: UserId,
        client: &ClientInfo,
    ) -> Result<(), AdminError> {
        let me = admin(self.ports, claims).await?;
        let ports = self.ports;
        let user = ports
            .store()
            .find_user(id)
            .await?
            .ok_or(AdminError::NotFound)?;
        let now = ports.clock().now();
        let token = mailed_token(ports, TokenPurpose::PasswordReset, &user.email, now)?;
        ports
            .store()
            .request_password_reset(ResetRequest {
                email: user.email,
                token,
                throttle: hourly_limit(now),
                audit: AuditEvent::new(AuditKind::PasswordResetRequested, now, Some(id), client)
                    .with_detail(serde_json::json!({ "by": me.id.to_string() })),
            })
            .await?;
        Ok(())
    }
}
