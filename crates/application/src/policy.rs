//! The knobs of the token lifecycle, given by the operator's configuration.

use std::time::Duration;

use gatehouse_domain::PasswordRules;

#[derive(Debug, Clone)]
pub struct AuthPolicy {
    pub access_token_ttl: Duration,
    pub refresh_token_idle_ttl: Duration,
    pub session_max_lifetime: Duration,
    /// How long a rotated refresh token may be presented again and get the
    /// same successor (retries, parallel tabs). Zero is strict.
    pub refresh_reuse_grace: Duration,
    pub password_rules: PasswordRules,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            access_token_ttl: Duration::from_secs(900),
            refresh_token_idle_ttl: Duration::from_secs(604_800),
            session_max_lifetime: Duration::from_secs(2_592_000),
            refresh_reuse_grace: Duration::from_secs(10),
            password_rules: PasswordRules::default(),
        }
    }
}
