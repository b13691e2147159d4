//! The knobs of the token lifecycle and of mail, given by the operator's
//! configuration.

use std::time::Duration;

use gatehouse_domain::PasswordRules;

use crate::ports::{AttemptRules, Lockout};

#[derive(Debug, Clone)]
pub struct AuthPolicy {
    pub access_token_ttl: Duration,
    pub refresh_token_idle_ttl: Duration,
    pub session_max_lifetime: Duration,
    /// How long a rotated refresh token may be presented again and get the
    /// same successor (retries, parallel tabs). Zero is strict.
    pub refresh_reuse_grace: Duration,
    pub password_rules: PasswordRules,
    /// Refuse login (and sign nobody in at registration) until the email
    /// is verified.
    pub require_verified_email: bool,
    /// The base of the links in mails, without a trailing slash.
    pub public_url: String,
    pub mail_delivery: DeliveryPolicy,
    pub retention: RetentionPolicy,
    /// Brute-force protection per account: on each client network, and
    /// across all of them.
    pub lockout: AttemptRules,
    /// The issuer authenticator apps show beside a TOTP entry.
    pub totp_issuer: String,
    /// How old an access token's `auth_time` may be for operations that
    /// need a recent authentication.
    pub reauth_max_age: Duration,
    /// Write a `token.refreshed` audit event per refresh (off: a busy
    /// service would keep a row per refresh for the audit retention).
    pub audit_refreshes: bool,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::from_secs(900),
            refresh_token_idle_ttl: Duration::from_secs(604_800),
            session_max_lifetime: Duration::from_secs(2_592_000),
            refresh_reuse_grace: Duration::from_secs(10),
            password_rules: PasswordRules::default(),
            require_verified_email: false,
            public_url: "http://127.0.0.1:8080".to_owned(),
            totp_issuer: "gatehouse".to_owned(),
            reauth_max_age: Duration::from_secs(900),
            audit_refreshes: false,
            mail_delivery: DeliveryPolicy::default(),
            retention: RetentionPolicy::default(),
            lockout: AttemptRules {
                per_network: Lockout {
                    max_failures: 5,
                    first: Duration::from_secs(60),
                    longest: Duration::from_secs(15 * 60),
                },
                per_account: Lockout {
                    max_failures: 100,
                    first: Duration::from_secs(60),
                    longest: Duration::from_secs(15 * 60),
                },
            },
        }
    }
}

/// How the outbox sender retries.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryPolicy {
    /// Mails claimed per pass.
    pub batch: u32,
    /// How long a claimed mail is held for one attempt; past it, another
    /// sender may take it (the first one died). Longer than a batch of
    /// SMTP timeouts.
    pub lease: Duration,
    /// The wait after the first failure; it doubles with each further one.
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// A mail still failing this long after it was queued is given up.
    pub give_up_after: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            batch: 10,
            lease: Duration::from_secs(300),
            first_retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(1_800),
            give_up_after: Duration::from_secs(24 * 3_600),
        }
    }
}

impl DeliveryPolicy {
    /// The wait before the next attempt, after `attempts` failed ones.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        self.first_retry
            .saturating_mul(1u32 << doublings)
            .min(self.max_retry)
    }
}

/// What to keep, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct RetentionPolicy {
    pub audit_events: Duration,
    pub ended_sessions: Duration,
    pub settled_mail: Duration,
    /// Revoked and expired API keys are kept this long (their owner may
    /// ask what a key was), then deleted.
    pub ended_api_keys: Duration,
    /// Rows per kind and batch: small, so no sweep holds locks for long.
    pub batch: u32,
    /// Batches per pass, so that a large backlog is worked off over
    /// several passes rather than in one long burst.
    pub max_batches: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        const DAY: u64 = 24 * 3_600;
        Self {
            audit_events: Duration::from_secs(365 * DAY),
            ended_sessions: Duration::from_secs(DAY),
            settled_mail: Duration::from_secs(DAY),
            ended_api_keys: Duration::from_secs(30 * DAY),
            batch: 500,
            max_batches: 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let p = DeliveryPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_secs(5));
        assert_eq!(p.backoff(2), Duration::from_secs(10));
        assert_eq!(p.backoff(4), Duration::from_secs(40));
        assert_eq!(p.backoff(20), Duration::from_secs(1_800));
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(1_800));
    }
}
