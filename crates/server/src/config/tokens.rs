//! `AUTH_JWT_*` and the token lifetimes.

use std::time::Duration;

use super::keys::TokenKeySource;
use super::source::Source;

const HOUR: u64 = 3_600;
const YEAR: u64 = 365 * 24 * HOUR;

#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// `AUTH_JWT_ALGORITHM` and its keys (see `keys.rs`).
    pub keys: TokenKeySource,
    /// `AUTH_JWT_ISSUER`.
    pub issuer: String,
    /// `AUTH_JWT_AUDIENCE`.
    pub audience: String,
    /// `AUTH_ACCESS_TOKEN_TTL_SECS`, 1 s to a day (over an hour warns).
    pub access_ttl: Duration,
    /// `AUTH_REFRESH_TOKEN_TTL_SECS`: a refresh token's idle lifetime, up
    /// to a year.
    pub refresh_idle_ttl: Duration,
    /// `AUTH_SESSION_MAX_LIFETIME_SECS`: a session's end however often it
    /// is refreshed, up to a year.
    pub session_max_lifetime: Duration,
    /// `AUTH_REFRESH_REUSE_GRACE_SECS`, 0 to 60: 0 is strict, a rotated
    /// token is never answered again.
    pub refresh_reuse_grace: Duration,
}

impl TokenConfig {
    pub(super) fn read<F: Fn(&str) -> Option<String>>(s: &Source<F>) -> anyhow::Result<Self> {
        Ok(Self {
            keys: TokenKeySource::read(s)?,
            issuer: s.string("AUTH_JWT_ISSUER", "gatehouse"),
            audience: s.string("AUTH_JWT_AUDIENCE", "gatehouse"),
            access_ttl: s.seconds_in("AUTH_ACCESS_TOKEN_TTL_SECS", 900, 1..=24 * HOUR)?,
            refresh_idle_ttl: s.seconds_in("AUTH_REFRESH_TOKEN_TTL_SECS", 604_800, 1..=YEAR)?,
            session_max_lifetime: s.seconds_in(
                "AUTH_SESSION_MAX_LIFETIME_SECS",
                2_592_000,
                1..=YEAR,
            )?,
            refresh_reuse_grace: s.seconds_in("AUTH_REFRESH_REUSE_GRACE_SECS", 10, 0..=60)?,
        })
    }
}
