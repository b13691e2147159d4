//! `POST /v1/auth/reauth`: the signed-in caller proves a credential again
//! (the password, and a code when MFA is on) and gets an access token for
//! the same session whose `auth_time` is now. Operations that need a
//! recent authentication (keys, MFA enrolment) then go through. Failures
//! count towards the lockout as failed logins do.

use std::time::Duration;

use gatehouse_domain::{ClientInfo, Password, SecretString};
use tracing::instrument;

use super::from_hash_error;
use super::issue::{self, SessionFacts};
use super::signed_in::{
    CallerError, ConfirmPasswordError, SecondFactor, caller, confirm_credentials,
};
use crate::ports::{AccessClaims, Clock, PortError, Ports, SignInStore};

#[derive(Debug, thiserror::Error)]
pub enum ReauthError {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("second factor required")]
    MfaRequired,
    #[error("second factor invalid")]
    MfaInvalid,
    #[error("too many failed attempts")]
    Throttled { retry_after: Duration },
    #[error("password hashing saturated")]
    Overloaded { retry_after: Duration },
    #[error(transparent)]
    Caller(#[from] CallerError),
    #[error(transparent)]
    Port(#[from] PortError),
}

from_hash_error!(ReauthError);

impl From<ConfirmPasswordError> for ReauthError {
    fn from(error: ConfirmPasswordError) -> Self {
        match error {
            ConfirmPasswordError::Wrong => Self::InvalidCredentials,
            ConfirmPasswordError::MfaRequired => Self::MfaRequired,
            ConfirmPasswordError::MfaInvalid => Self::MfaInvalid,
            ConfirmPasswordError::Throttled { retry_after } => Self::Throttled { retry_after },
            ConfirmPasswordError::Caller(e) => Self::Caller(e),
            ConfirmPasswordError::Hash(e) => e.into(),
            ConfirmPasswordError::Port(e) => Self::Port(e),
        }
    }
}

/// A fresh access token of the same session.
#[derive(Debug, Clone)]
pub struct Reauthenticated {
    pub access_token: SecretString,
    pub expires_in: Duration,
}

#[derive(Debug)]
pub struct Reauthenticate<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> Reauthenticate<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// # Errors
    /// As [`ReauthError`] says; a session that ended meanwhile is
    /// `Caller(SessionEnded)`.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        password: Password,
        otp: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Reauthenticated, ReauthError> {
        let ports = self.ports;
        let user = caller(ports, claims).await?;
        let confirmed = confirm_credentials(
            ports,
            &user,
            password,
            SecondFactor::IfEnabled(otp),
            client,
            "reauth",
        )
        .await?;
        let now = ports.clock().now();
        if !ports
            .store()
            .reauthenticate_session(claims.session_id, user.id, now, &confirmed.attempt.keys)
            .await?
        {
            return Err(CallerError::SessionEnded.into());
        }
        let facts = SessionFacts {
            session_id: claims.session_id,
            role: user.role,
            amr: claims.amr,
            auth_time: now,
        };
        Ok(Reauthenticated {
            access_token: issue::access_token(ports, user.id, facts, now)?,
            expires_in: ports.policy().access_token_ttl,
        })
    }
}
