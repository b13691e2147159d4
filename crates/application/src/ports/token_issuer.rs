use gatehouse_domain::{Amr, Role, SecretString, SessionId, Timestamp, UserId};

use super::PortError;

/// What an access token asserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub role: Role,
    /// How the session was signed in.
    pub amr: Amr,
    /// When the user last proved a credential in this session (the
    /// sign-in, or a reauthentication); refreshes keep it.
    pub auth_time: Timestamp,
    pub jti: uuid::Uuid,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AccessTokenError {
    #[error("access token expired")]
    Expired,
    #[error("access token invalid")]
    Invalid,
}

/// Signs and verifies self-contained access tokens (no store involved).
pub trait TokenIssuer: Send + Sync {
    /// # Errors
    /// `Unexpected` when signing fails.
    fn issue(&self, claims: &AccessClaims) -> Result<SecretString, PortError>;

    /// Verifies signature, algorithm, issuer, audience and expiry against `now`.
    ///
    /// # Errors
    /// `Expired` when only the expiry fails; `Invalid` for anything else.
    fn verify(&self, token: &str, now: Timestamp) -> Result<AccessClaims, AccessTokenError>;
}
