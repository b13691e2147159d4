//! Signing in: brute-force protection per account, and the guarded start
//! of the session a successful check earns. Every attempt to check a password
//! or code is counted as a failure when it starts, in the same step as the
//! lockout check (so concurrent guesses cannot outrun the limit while their
//! hashes run), and taken back or forgotten when it turns out otherwise.
//! The counts live in the store (they hold across restarts and instances),
//! under keys derived from the typed email, so that an unknown email is
//! counted, locked out and answered exactly like a known one.

use std::future::Future;
use std::time::Duration;

use gatehouse_domain::{AuditEvent, Email, PasswordHash, SessionId, Timestamp, UserId};

use super::{NewSession, PortError, UserCredentials};

/// A keyed digest ([`super::DataCipher::keyed_digest`]) naming one
/// counter: of the normalised email alone (the account across networks),
/// or of the email and a client network.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThrottleKey(pub String);

/// The two counters one attempt spends from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptKeys {
    /// The account on the client's network (an IPv4 address or IPv6 /64):
    /// a flood from one network locks that network out, not the owner.
    pub network: ThrottleKey,
    /// The account across every network.
    pub account: ThrottleKey,
}

/// The lockout of each counter.
#[derive(Debug, Clone, Copy)]
pub struct AttemptRules {
    pub per_network: Lockout,
    pub per_account: Lockout,
}

/// One attempt to check a password or a code for an account, counted as
/// a failure when it starts.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    /// Marks the counters this attempt counted on.
    pub id: uuid::Uuid,
    pub keys: AttemptKeys,
    pub at: Timestamp,
    pub rules: AttemptRules,
}

/// What a login may go on with: the account, if any, and whether the
/// attempt was let in.
#[derive(Debug, Clone)]
pub struct LoginLookup {
    pub credentials: Option<UserCredentials>,
    /// The account's count of "end every session" so far (0 without an
    /// account): a session may start only if it is still this.
    pub sessions_epoch: i64,
    /// `Some(end)`: a counter is locked out until `end`; the attempt was
    /// not counted and must not check anything.
    pub locked_until: Option<Timestamp>,
}

/// After `max_failures` consecutive failures the key is locked out for
/// `first`, doubling with each further failure up to `longest`.
#[derive(Debug, Clone, Copy)]
pub struct Lockout {
    pub max_failures: u32,
    pub first: Duration,
    pub longest: Duration,
}

impl Lockout {
    /// How long a key is locked out after its `failures`-th consecutive
    /// failure; `None` below the threshold.
    pub fn after(&self, failures: u32) -> Option<Duration> {
        let beyond = failures.checked_sub(self.max_failures)?;
        let doubled = self.first.saturating_mul(1u32 << beyond.min(20));
        Some(doubled.min(self.longest))
    }
}

/// What a sign-in checked, which must still hold when its session starts:
/// a password reset, "sign out everywhere" or a disabling that landed
/// while the hash was being checked leaves nothing alive behind it.
#[derive(Debug, Clone)]
pub struct SignInGuard {
    pub password_hash: PasswordHash,
    pub sessions_epoch: i64,
}

/// Whether a guarded session started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStart {
    Started,
    /// The account changed since the check (its password, its sessions
    /// all ended, or it is gone): nothing was written.
    Stale,
    /// The account was disabled since the check: nothing was written.
    Disabled,
}

/// The store's side of a sign-in or a reauthentication: counting the
/// attempt, taking it back, and starting (or refreshing) the session it
/// earned, each in one atomic step.
pub trait SignInStore: Send + Sync {
    /// Starts an attempt for the account with this email: in one atomic
    /// step, reads the account and its password hash, and unless one of
    /// `attempt.keys` is locked out at `attempt.at`, counts a failure on
    /// both, locking a counter out from `attempt.at` for
    /// [`Lockout::after`] its new count. Of any number of concurrent
    /// attempts, at most as many are let in as the counters allow.
    /// A locked-out attempt changes nothing and costs this one step.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn begin_login_attempt(
        &self,
        email: &Email,
        attempt: &LoginAttempt,
    ) -> impl Future<Output = Result<LoginLookup, PortError>> + Send;

    /// Takes back the failure an attempt counted when it started, for an
    /// attempt that turned out not to be a guess (the password matched but
    /// the account is not signed in: a code is needed, the email is not
    /// verified, hashing was saturated). A counter falling below its
    /// threshold is no longer locked out.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn refund_login_attempt(
        &self,
        attempt: &LoginAttempt,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// A successful reauthentication in `session_id`: its `auth_time`
    /// becomes `at` and the failures of `keys` are forgotten, together,
    /// if the session is the user's and live. Answers whether it was.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn reauthenticate_session(
        &self,
        session_id: SessionId,
        user_id: UserId,
        at: Timestamp,
        keys: &AttemptKeys,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// A successful sign-in: starts the session with its first token and
    /// audit event, and forgets the failures of both keys, all or nothing,
    /// provided the account still has `guard`'s password hash and sessions
    /// epoch and is not disabled. Otherwise writes nothing.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn start_login_session(
        &self,
        session: NewSession,
        audit: AuditEvent,
        keys: &AttemptKeys,
        guard: &SignInGuard,
    ) -> impl Future<Output = Result<SessionStart, PortError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lockout_doubles_from_the_threshold_up_to_its_cap() {
        let rule = Lockout {
            max_failures: 5,
            first: Duration::from_secs(60),
            longest: Duration::from_secs(900),
        };
        assert_eq!(rule.after(4), None);
        assert_eq!(rule.after(5), Some(Duration::from_secs(60)));
        assert_eq!(rule.after(6), Some(Duration::from_secs(120)));
        assert_eq!(rule.after(8), Some(Duration::from_secs(480)));
        assert_eq!(rule.after(9), Some(Duration::from_secs(900)));
        assert_eq!(rule.after(u32::MAX), Some(Duration::from_secs(900)));
    }
}
