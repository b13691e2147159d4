use std::future::Future;

use gatehouse_domain::{
    AuditEvent, DisplayName, Email, Metadata, PasswordHash, Role, SessionId, Timestamp, User,
    UserId,
};

use super::{MailedToken, NewSession, OutgoingMail, PortError, RevokeReason};

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub email: Email,
    pub password_hash: PasswordHash,
    pub role: Role,
    pub created_at: Timestamp,
    pub name: Option<DisplayName>,
    /// The verification link to mail, stored and queued with the user.
    pub verification: Option<MailedToken>,
    /// Created verified: the operator vouches for the address (bootstrap,
    /// command line).
    pub email_verified: bool,
}

/// What `PATCH /v1/users/me` changes; a field left `None` stays as it is.
#[derive(Debug, Clone)]
pub struct ProfileUpdate {
    pub user_id: UserId,
    /// `Some(None)` clears the name.
    pub name: Option<Option<DisplayName>>,
    /// Replaces the whole object.
    pub metadata: Option<Metadata>,
    pub at: Timestamp,
    pub audit: AuditEvent,
}

#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: PasswordHash,
}

/// The account an access token names, and whether the token's session is
/// still live.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    pub session_live: bool,
}

/// A new password hash, and the sessions that end with the old password.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub user_id: UserId,
    /// The hash the caller verified against: the change happens only if it
    /// is still the stored one.
    pub old_hash: PasswordHash,
    pub new_hash: PasswordHash,
    /// The one session that stays (the caller's own), if any.
    pub keep_session: Option<SessionId>,
    pub at: Timestamp,
    pub reason: RevokeReason,
    /// Recorded with the change; the store adds `sessions_ended` to its detail.
    pub audit: AuditEvent,
    /// Queued with the change: the notice that the password changed.
    pub notice: OutgoingMail,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("email already registered")]
    EmailTaken,
    #[error(transparent)]
    Port(#[from] PortError),
}

pub trait UserStore: Send + Sync {
    /// Creates the user, its first session when given (which is then its
    /// last sign-in), its verification token and mail when given, and the
    /// audit event, all or nothing.
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

    /// The user with this id and whether `session_id` is one of its
    /// sessions that is neither revoked nor past its end at `now`, in one
    /// lookup: every authenticated call pays for it.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn find_session_user(
        &self,
        user_id: UserId,
        session_id: SessionId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<SessionUser>, PortError>> + Send;

    /// Replaces the user's hash if it is still `change.old_hash`, and in the
    /// same atomic step ends every unrevoked session of the user but
    /// `change.keep_session`, records the audit event and queues the
    /// notice. Answers `false`,
    /// changing nothing, when the hash changed meanwhile (a concurrent
    /// change won).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn change_password(
        &self,
        change: PasswordChange,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

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

    /// Applies the update and records the audit event, in one atomic step;
    /// answers the user as it now is, or `None` (nothing written) for an
    /// unknown user.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn update_profile(
        &self,
        update: ProfileUpdate,
    ) -> impl Future<Output = Result<Option<User>, PortError>> + Send;
}
