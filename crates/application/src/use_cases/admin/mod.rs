//! The admin area: users (list, read, change role or disabled, end their
//! sessions) and the audit trail. Every call checks, in the one lookup
//! that loads the caller and its session, that the caller is an admin
//! now: a demoted admin is refused at once, whatever its token says.

mod accounts;
mod audit;
mod users;

pub use accounts::{CreateAccount, CreateAccountError, EnsureAdmin, Ensured};
pub use audit::{AuditPage, ListAuditEvents};
pub use users::{
    GetUser, ListUserSessions, ListUsers, RemoveUserMfa, RevokeUserSessions, SendPasswordReset,
    UpdateUser, UserPage,
};

use gatehouse_domain::{Role, User};

use crate::ports::{AccessClaims, PortError, Ports};
use crate::use_cases::signed_in::{CallerError, caller};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Signed in, but not an admin (now).
    #[error("admin role required")]
    Forbidden,
    #[error("user not found")]
    NotFound,
    #[error("the last active admin cannot be demoted or disabled")]
    LastAdmin,
    #[error(transparent)]
    Caller(#[from] CallerError),
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Pages hold 1 to 100 items; 50 unless asked.
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 100;

async fn admin<P: Ports>(ports: &P, claims: &AccessClaims) -> Result<User, AdminError> {
    let user = caller(ports, claims).await?;
    if user.role == Role::Admin {
        Ok(user)
    } else {
        Err(AdminError::Forbidden)
    }
}
