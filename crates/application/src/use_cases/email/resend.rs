//! A new verification link for the signed-in caller.

use tracing::instrument;

use crate::ports::{AccessClaims, AccountTokenStore, Clock, PortError, Ports};
use crate::use_cases::mail::verification_request;
use crate::use_cases::signed_in::{CallerError, caller};

#[derive(Debug, thiserror::Error)]
pub enum ResendVerificationError {
    #[error(transparent)]
    Caller(#[from] CallerError),
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Mails a new verification link to the caller, unless the email is
/// verified already or the hourly limit is reached: both quietly, so the
/// answer is the same. The first resend after registration always goes out.
#[derive(Debug)]
pub struct ResendVerification<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> ResendVerification<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// Answers whether a mail was queued.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(&self, claims: &AccessClaims) -> Result<bool, ResendVerificationError> {
        let ports = self.ports;
        let user = caller(ports, claims).await?;
        if user.email_verified {
            return Ok(false);
        }
        let now = ports.clock().now();
        Ok(ports
            .store()
            .request_verification(verification_request(ports, &user, now)?)
            .await?)
    }
}
