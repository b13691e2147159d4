use std::future::Future;

use gatehouse_domain::{
    Amr, AuditEvent, ClientInfo, Email, PresentedToken, Role, SessionId, Timestamp, UserId,
};

use super::{PortError, TokenDigest};

#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub id: uuid::Uuid,
    pub digest: TokenDigest,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A session is one refresh-token family.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: Timestamp,
    /// Absolute end, however often the session is refreshed.
    pub expires_at: Timestamp,
    pub amr: Amr,
    pub client: ClientInfo,
    pub first_token: NewRefreshToken,
}

/// A presented refresh token with its session and user: locked for the rest
/// of the unit of work when [`SessionTx::lock_token`] read it, a plain read
/// when [`SessionStore::rotate_if_current`] declined it.
#[derive(Debug, Clone)]
pub struct StoredToken {
    pub token_id: uuid::Uuid,
    pub session_id: SessionId,
    pub user_id: UserId,
    pub email: Email,
    pub role: Role,
    pub user_disabled: bool,
    pub amr: Amr,
    /// The session's last proof of a credential, kept by every refresh.
    pub auth_time: Timestamp,
    pub sealed_successor: Option<Vec<u8>>,
    pub presented: PresentedToken,
}

/// Exchanges `token_id` for `successor`, atomically with its bookkeeping.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub token_id: uuid::Uuid,
    pub session_id: SessionId,
    pub at: Timestamp,
    /// The successor encrypted under the presented token, to answer retries.
    pub sealed_successor: Option<Vec<u8>>,
    pub successor: NewRefreshToken,
    /// Recorded with the rotation when refreshes are audited.
    pub audit: Option<AuditEvent>,
}

/// The common case of a refresh, asked of the store as one atomic step.
#[derive(Debug, Clone)]
pub struct RotationAttempt {
    pub digest: TokenDigest,
    pub at: Timestamp,
    /// The successor encrypted under the presented token, to answer retries.
    pub sealed_successor: Option<Vec<u8>>,
    /// Its `expires_at` is the idle end; the store caps it at the session's
    /// end, which only the store knows at this point.
    pub successor: NewRefreshToken,
    /// Recorded with the rotation when refreshes are audited
    /// (`AUTH_AUDIT_REFRESHES`). Its `user_id` is set, and `session_id`
    /// added to its detail, by the store from the rotated token.
    pub audit: Option<AuditEvent>,
}

#[derive(Debug, Clone)]
pub enum RotationOutcome {
    /// The token was current: it is retired and the successor is live.
    Rotated(StoredToken),
    /// Nothing changed. The token as it stood, read without a lock, for the
    /// domain to decide what its presentation means.
    Declined(StoredToken),
    /// No token has this digest.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Logout,
    ReuseDetected,
    /// The user ended it from the sessions list.
    UserRevoked,
    /// The password changed: every other session of the user ends.
    PasswordChanged,
    /// The password was reset with a mailed link: every session ends.
    PasswordReset,
    /// An admin disabled the user, or ended the user's sessions.
    AdminAction,
    /// MFA was turned on: sessions signed in without it end.
    MfaEnabled,
}

impl RevokeReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            RevokeReason::Logout => "logout",
            RevokeReason::ReuseDetected => "reuse_detected",
            RevokeReason::UserRevoked => "user_revoked",
            RevokeReason::PasswordChanged => "password_changed",
            RevokeReason::PasswordReset => "password_reset",
            RevokeReason::AdminAction => "admin_action",
            RevokeReason::MfaEnabled => "mfa_enabled",
        }
    }
}

/// A live session, as its user sees it in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub id: SessionId,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub expires_at: Timestamp,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Ending sessions of one user, with the audit event that says so.
#[derive(Debug, Clone)]
pub struct SessionRevocation {
    pub user_id: UserId,
    pub at: Timestamp,
    pub reason: RevokeReason,
    /// Recorded when something ended, with what ended added to its detail
    /// by the store (`session_id`, or `session_ids` for all of them).
    pub audit: AuditEvent,
}

pub trait SessionStore: Send + Sync {
    /// The user's sessions that are neither revoked nor past their end at
    /// `now`, most recently used first.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn live_sessions(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Vec<SessionView>, PortError>> + Send;

    /// Ends `session_id` if it belongs to `revocation.user_id`, in one
    /// atomic step with its audit event. Answers whether the session is the
    /// user's (already ended ones included, so a repeated call agrees);
    /// another user's or an unknown session is `false` and changes nothing.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn revoke_own_session(
        &self,
        session_id: SessionId,
        revocation: SessionRevocation,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Ends every unrevoked session of the user, in one atomic step with one
    /// audit event naming them all (none when there were none). Answers
    /// how many it ended.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn revoke_all_sessions(
        &self,
        revocation: SessionRevocation,
    ) -> impl Future<Output = Result<u64, PortError>> + Send;

    /// Creates the session with its first refresh token and the audit
    /// event, all or nothing.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn start_session(
        &self,
        session: NewSession,
        audit: AuditEvent,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Rotates in one atomic step when the token with `attempt.digest` is
    /// its family's current token (not rotated, not idle-expired at
    /// `attempt.at`), its session is neither revoked nor past its end, and
    /// its user is not disabled: the token is retired keeping the sealed
    /// successor, the successor is inserted (expiring at the earlier of its
    /// idle end and the session's end), the session's `last_used_at` is
    /// touched and the audit event recorded. Anything else answers
    /// `Declined` or `Unknown` and changes nothing, except that the
    /// session's `last_used_at` may be touched when the token was current
    /// as the attempt began (a concurrent rotation won).
    ///
    /// Concurrent attempts on one token: at most one is `Rotated`. This is
    /// the whole of a refresh in the common case, so adapters should make
    /// it one round trip.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn rotate_if_current(
        &self,
        attempt: RotationAttempt,
    ) -> impl Future<Output = Result<RotationOutcome, PortError>> + Send;
}

/// The session writes a unit of work offers. While it holds a token's lock,
/// no other unit of work, in this process or another, can lock the same
/// token, which is what keeps a token family from forking.
pub trait SessionTx: Send {
    /// Finds the token with this digest and locks its session and the
    /// token until the unit of work ends, and reads them after the locks
    /// are held: every change to the family that committed before is seen,
    /// and none can commit until this unit of work ends.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn lock_token(
        &mut self,
        digest: &TokenDigest,
    ) -> impl Future<Output = Result<Option<StoredToken>, PortError>> + Send;

    /// Marks the token rotated, keeps the sealed successor, inserts the
    /// successor, touches the session's `last_used_at` and records the audit
    /// event. The token MUST have been locked by this unit of work.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn rotate(&mut self, rotation: Rotation) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Ends the session: every token of the family stops working, and the
    /// successors its tokens kept for grace replays are erased (as by every
    /// method that ends sessions: a revoked family answers no replay).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn revoke_session(
        &mut self,
        session_id: SessionId,
        at: Timestamp,
        reason: RevokeReason,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}
