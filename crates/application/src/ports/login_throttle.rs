//! Brute-force protection per account: consecutive failed logins are
//! counted in the store (so the count holds across restarts and instances),
//! under a key derived from the typed email, so that an unknown email is
//! counted, locked out and answered exactly like a known one.

use std::future::Future;
use std::time::Duration;

use gatehouse_domain::{AuditEvent, Email, Timestamp};

use super::{NewSession, PortError, UserCredentials};

/// A keyed digest of the normalised email ([`super::DataCipher::keyed_digest`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThrottleKey(pub String);

/// What a login needs before it may hash: the account, if any, and until
/// when its key is locked out, if it is.
#[derive(Debug, Clone)]
pub struct LoginLookup {
    pub credentials: Option<UserCredentials>,
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

#[derive(Debug, Clone)]
pub struct LoginFailure {
    pub key: ThrottleKey,
    pub at: Timestamp,
    pub lockout: Lockout,
    /// Recorded with the count.
    pub audit: AuditEvent,
}

pub trait LoginThrottleStore: Send + Sync {
    /// The user with this email and its password hash, and the lockout of
    /// `key`, in one lookup: a locked-out login costs this round trip and
    /// nothing else.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn find_login(
        &self,
        email: &Email,
        key: &ThrottleKey,
    ) -> impl Future<Output = Result<LoginLookup, PortError>> + Send;

    /// Counts one more consecutive failure of `failure.key` and records the
    /// audit event, atomically: concurrent failures are all counted. From
    /// the threshold on, the key is locked out from `failure.at` for
    /// [`Lockout::after`] the new count. Answers the lockout's end, if any.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn record_login_failure(
        &self,
        failure: LoginFailure,
    ) -> impl Future<Output = Result<Option<Timestamp>, PortError>> + Send;

    /// A successful login: starts the session with its first token and
    /// audit event, and forgets the failures of `key`, all or nothing.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn start_login_session(
        &self,
        session: NewSession,
        audit: AuditEvent,
        key: &ThrottleKey,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
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
