use gatehouse_domain::User;

use super::RECORD_USE_EVERY;
use crate::ports::{ApiKeyStore, Clock, KeyHolder, OpaqueTokens, PortError, Ports};
use crate::use_cases::issue::sub;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Unknown, revoked, expired, or not a key at all.
    #[error("API key invalid")]
    Invalid,
    /// The owner is disabled; the key works again if the owner is enabled.
    #[error("account disabled")]
    Disabled,
    #[error(transparent)]
    Port(#[from] PortError),
}

/// The owner a presented `X-API-Key` stands for, in one lookup (which also
/// records the use, at most once a minute).
#[derive(Debug)]
pub struct AuthenticateApiKey<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> AuthenticateApiKey<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// # Errors
    /// As [`KeyError`] says.
    pub async fn execute(&self, key: &str) -> Result<KeyHolder, KeyError> {
        let ports = self.ports;
        if !ports.opaque().is_api_key(key) {
            return Err(KeyError::Invalid);
        }
        let now = ports.clock().now();
        let holder = ports
            .store()
            .find_key_holder(&ports.opaque().digest(key), now, sub(now, RECORD_USE_EVERY))
            .await?
            .ok_or(KeyError::Invalid)?;
        if holder.user.disabled {
            return Err(KeyError::Disabled);
        }
        Ok(holder)
    }

    /// The owner only, for `GET /v1/users/me`.
    ///
    /// # Errors
    /// As [`KeyError`] says.
    pub async fn owner(&self, key: &str) -> Result<User, KeyError> {
        self.execute(key).await.map(|h| h.user)
    }
}
