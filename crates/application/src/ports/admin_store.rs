//! What the admin API needs of the store: users in a stable order, one
//! guarded update, and the audit trail newest first.

use std::future::Future;

use gatehouse_domain::{AuditEvent, AuditKind, Role, Timestamp, User, UserId};

use super::PortError;

/// A change an admin asks for; `None` leaves a field as it is.
#[derive(Debug, Clone)]
pub struct UserUpdate {
    pub user_id: UserId,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub at: Timestamp,
    /// Recorded with the change; the store adds the fields that changed.
    pub audit: AuditEvent,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateUserError {
    #[error("user not found")]
    NotFound,
    /// The change would leave no enabled admin.
    #[error("the last active admin cannot be demoted or disabled")]
    LastAdmin,
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Which audit events, newest first, after a cursor.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub user_id: Option<UserId>,
    pub kind: Option<AuditKind>,
    /// Only events older than this one (`at`, then `id`, descending).
    pub before: Option<(Timestamp, uuid::Uuid)>,
    pub limit: u32,
}

/// Which users, in id order.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// Only users with ids after this one.
    pub after: Option<UserId>,
    pub limit: u32,
    /// Only users whose (lower-cased) email contains this, already lower
    /// case; matched literally (`%` and `_` are plain characters).
    pub email_contains: Option<String>,
}

pub trait AdminStore: Send + Sync {
    /// Up to `query.limit` users matching it, in id order.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn list_users(
        &self,
        query: UserQuery,
    ) -> impl Future<Output = Result<Vec<User>, PortError>> + Send;

    /// Applies the update in one atomic step, unless it would leave no
    /// enabled admin (`LastAdmin`); concurrent updates are serialised on
    /// the admins, so two admins demoting each other cannot both succeed.
    /// Disabling also ends every session of the user. Records the audit
    /// event. Answers the user as it now is.
    ///
    /// # Errors
    /// `NotFound`, `LastAdmin`, or `Unavailable`.
    fn update_user(
        &self,
        update: UserUpdate,
    ) -> impl Future<Output = Result<User, UpdateUserError>> + Send;

    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn audit_events(
        &self,
        query: AuditQuery,
    ) -> impl Future<Output = Result<Vec<AuditEvent>, PortError>> + Send;
}
