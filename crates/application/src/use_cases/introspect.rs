//! Token introspection (RFC 7662 in spirit) for other services: is this
//! access token, or API key, good right now? Unlike a signature check, it also asks the
//! store, in one lookup, whether the token's session is still live and
//! its user still enabled; anything else is simply inactive.

use gatehouse_domain::{Role, SessionId, Timestamp, UserId};
use tracing::instrument;

use crate::ports::{Clock, OpaqueTokens, PortError, Ports, TokenIssuer, UserStore};
use crate::use_cases::api_keys::{AuthenticateApiKey, KeyError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Introspection {
    Inactive,
    AccessToken {
        user_id: UserId,
        session_id: SessionId,
        /// The user's role now, not the one the token was minted with.
        role: Role,
        expires_at: Timestamp,
    },
    ApiKey {
        key_id: uuid::Uuid,
        user_id: UserId,
        role: Role,
        expires_at: Option<Timestamp>,
    },
}

#[derive(Debug)]
pub struct Introspect<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> Introspect<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// # Errors
    /// `Unavailable` when the store cannot be reached: "inactive" would be
    /// a lie the caller might act on.
    #[instrument(skip_all)]
    pub async fn execute(&self, token: &str) -> Result<Introspection, PortError> {
        if self.ports.opaque().is_api_key(token) {
            return match AuthenticateApiKey::new(self.ports).execute(token).await {
                Ok(holder) => Ok(Introspection::ApiKey {
                    key_id: holder.key_id,
                    user_id: holder.user.id,
                    role: holder.user.role,
                    expires_at: holder.expires_at,
                }),
                Err(KeyError::Invalid | KeyError::Disabled) => Ok(Introspection::Inactive),
                Err(KeyError::Port(e)) => Err(e),
            };
        }
        let now = self.ports.clock().now();
        let Ok(claims) = self.ports.tokens().verify(token, now) else {
            return Ok(Introspection::Inactive);
        };
        let found = self
            .ports
            .store()
            .find_session_user(claims.user_id, claims.session_id, now)
            .await?;
        Ok(match found {
            Some(found) if found.session_live && !found.user.disabled => {
                Introspection::AccessToken {
                    user_id: claims.user_id,
                    session_id: claims.session_id,
                    role: found.user.role,
                    expires_at: claims.expires_at,
                }
            }
            _ => Introspection::Inactive,
        })
    }
}
