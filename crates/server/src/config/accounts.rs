//! Sign-in rules, lockout, recent authentication, audit, and the admin
//! ensured at start.

use std::time::Duration;

use anyhow::bail;
use gatehouse_domain::{Email, SecretString};

use super::source::Source;

#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// `AUTH_REQUIRE_VERIFIED_EMAIL`: sign-in waits for a confirmed email.
    pub require_verified_email: bool,
    /// `AUTH_LOGIN_MAX_FAILURES`, 1 to 1000: per account and client network.
    pub login_max_failures: u32,
    /// `AUTH_LOGIN_MAX_FAILURES_GLOBAL`, 1 to 100 000: per account, across
    /// networks.
    pub login_max_failures_global: u32,
    /// `AUTH_LOGIN_LOCKOUT_SECS`, 1 to 900: the first lockout (doubling
    /// stops at 15 minutes, so a first one beyond it is a typo).
    pub login_lockout: Duration,
    /// `AUTH_REAUTH_MAX_AGE_SECS`, 30 to 86 400: how old a sign-in may be
    /// for operations that need a recent one.
    pub reauth_max_age: Duration,
    /// `AUTH_AUDIT_REFRESHES`: a `token.refreshed` audit event per refresh.
    pub audit_refreshes: bool,
    /// `AUTH_AUDIT_RETENTION_DAYS`, at least 1.
    pub audit_retention_days: u32,
    /// `AUTH_ADMIN_EMAIL` and `AUTH_ADMIN_PASSWORD`, both or neither: the
    /// admin ensured at every start.
    pub admin: Option<(Email, SecretString)>,
}

impl AccountConfig {
    pub(super) fn read<F: Fn(&str) -> Option<String>>(s: &Source<F>) -> anyhow::Result<Self> {
        Ok(Self {
            require_verified_email: s.flag("AUTH_REQUIRE_VERIFIED_EMAIL")?,
            login_max_failures: s.number_in("AUTH_LOGIN_MAX_FAILURES", 5, 1..=1_000)?,
            login_max_failures_global: s.number_in(
                "AUTH_LOGIN_MAX_FAILURES_GLOBAL",
                100,
                1..=100_000,
            )?,
            login_lockout: s.seconds_in("AUTH_LOGIN_LOCKOUT_SECS", 60, 1..=900)?,
            reauth_max_age: s.seconds_in("AUTH_REAUTH_MAX_AGE_SECS", 900, 30..=86_400)?,
            audit_refreshes: s.flag("AUTH_AUDIT_REFRESHES")?,
            audit_retention_days: s.number_from("AUTH_AUDIT_RETENTION_DAYS", 365, 1)?,
            admin: match (
                s.optional("AUTH_ADMIN_EMAIL"),
                s.secret("AUTH_ADMIN_PASSWORD"),
            ) {
                (None, None) => None,
                (Some(email), Some(password)) => Some((
                    Email::parse(&email).map_err(|e| anyhow::anyhow!("AUTH_ADMIN_EMAIL: {e}"))?,
                    password,
                )),
                _ => bail!(
                    "AUTH_ADMIN_EMAIL and AUTH_ADMIN_PASSWORD go together: set both or neither"
                ),
            },
        })
    }
}
