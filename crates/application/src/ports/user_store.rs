use std::future::Future;

use gatehouse_domain::{AuditEvent, Email, PasswordHash, Role, Timestamp, User, UserId};

use super::{NewSession, PortError};

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub email: Email,
    pub password_hash: PasswordHash,
    pub role: Role,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: PasswordHash,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("email already registered")]
    EmailTaken,
    #[error(transparent)]
    Port(#[from] PortError),
}

pub trait UserStore: Send + Sync {
    /// Creates the user, its first session when given, and the audit event,
    /// all or nothing.
    ///
    /// # Errors
    /// `EmailTaken` when a user with the same (normalised) email exists;
    /// then nothing is written.
    fn create_user(
        &self,
        user: NewUser,
        session: Option<NewSession>,
        audit: AuditEvent,
    ) -> impl Future<Output = Result<(), CreateUserError>> + Send;

    /// The user with this email and its password hash, in one lookup.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn find_credentials(
        &self,
        email: &Email,
    ) -> impl Future<Output = Result<Option<UserCredentials>, PortError>> + Send;

    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn find_user(&self, id: UserId)
    -> impl Future<Output = Result<Option<User>, PortError>> + Send;

    /// Replaces the hash only if it is still `old` (a concurrent password
    /// change wins over an opportunistic rehash). Returns whether it replaced.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn replace_password_hash(
        &self,
        id: UserId,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
}
