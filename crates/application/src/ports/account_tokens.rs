//! Single-use links mailed to a user: password reset and email
//! verification. The store keeps a token's digest only; every method that
//! spends a token does it in one atomic step, so two requests with one
//! token never both succeed.

use std::future::Future;

use gatehouse_domain::{AuditEvent, Email, PasswordHash, Timestamp, User, UserId};

use super::{OutgoingMail, PortError, TokenDigest};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    PasswordReset,
    EmailVerification,
}

impl TokenPurpose {
    pub fn as_str(&self) -> &'static str {
        match self {
            TokenPurpose::PasswordReset => "password_reset",
            TokenPurpose::EmailVerification => "email_verification",
        }
    }
}

/// A token to store, with the mail that carries it to the user.
#[derive(Debug, Clone)]
pub struct MailedToken {
    pub digest: TokenDigest,
    pub purpose: TokenPurpose,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub mail: OutgoingMail,
}

/// At most `max` tokens of a purpose per user since `since`: a quiet limit
/// on how many mails a stranger can make us send to someone.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub since: Timestamp,
    pub max: u32,
}

#[derive(Debug, Clone)]
pub struct ResetRequest {
    pub email: Email,
    pub token: MailedToken,
    pub throttle: Throttle,
    /// Recorded with the token; the store sets its `user_id`.
    pub audit: AuditEvent,
}

#[derive(Debug, Clone)]
pub struct VerificationRequest {
    pub user_id: UserId,
    pub token: MailedToken,
    pub throttle: Throttle,
}

/// Spends a reset token on a new password.
#[derive(Debug, Clone)]
pub struct PasswordReset {
    pub digest: TokenDigest,
    pub new_hash: PasswordHash,
    pub at: Timestamp,
    /// The account's lockout counters (all networks' and its own, which
    /// name it) are forgotten with the reset: the mailbox's owner is back.
    pub throttle_account: super::ThrottleKey,
    /// Recorded with the reset; the store sets its `user_id` and adds
    /// `sessions_ended` to its detail.
    pub audit: AuditEvent,
}

/// Spends a verification token.
#[derive(Debug, Clone)]
pub struct EmailVerification {
    pub digest: TokenDigest,
    pub at: Timestamp,
    /// Recorded with the verification; the store sets its `user_id`.
    pub audit: AuditEvent,
}

pub trait AccountTokenStore: Send + Sync {
    /// Stores the token and queues its mail, all or nothing, for the
    /// enabled user with this email, unless the throttle is reached;
    /// concurrent requests for one email are counted one after the other.
    /// Records the audit event for an enabled account (its `user_id` set,
    /// its detail saying whether it was `mailed`), and none for an unknown
    /// email: anyone may send any address, and a row per probe would let
    /// them grow the table at will. Answers whether it mailed.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn request_password_reset(
        &self,
        request: ResetRequest,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Stores the token and queues its mail, all or nothing, unless the
    /// user's email is verified already or the throttle is reached;
    /// concurrent requests for one user are counted one after the other.
    /// Answers whether it wrote.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn request_verification(
        &self,
        request: VerificationRequest,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// The user of a token of `purpose` that is neither used nor expired at
    /// `now`. A read: nothing is spent.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn find_token_user(
        &self,
        digest: &TokenDigest,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<User>, PortError>> + Send;

    /// If the reset token is still unused and unexpired at `reset.at` and
    /// its user is not disabled, in one atomic step: spends it and every
    /// other reset token of its user, replaces the password hash (no change
    /// is required of it any more: `password_must_change` clears), marks the
    /// email verified (the link proved the mailbox), ends every session of
    /// the user and records the audit event. Answers the user, or `None`
    /// (nothing changed). Two links of one user spent at once do not
    /// deadlock: one waits for the other.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn reset_password(
        &self,
        reset: PasswordReset,
    ) -> impl Future<Output = Result<Option<UserId>, PortError>> + Send;

    /// If the verification token is still unused and unexpired, in one
    /// atomic step: spends it and every other verification token of its
    /// user, marks the email verified and records the audit event.
    /// Answers the user, or `None` (nothing changed).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn verify_email(
        &self,
        verification: EmailVerification,
    ) -> impl Future<Output = Result<Option<UserId>, PortError>> + Send;
}
