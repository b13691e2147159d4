//! Password login. Unknown email and wrong password look the same from the
//! outside, in the body and in the work done. Every attempt is counted when
//! it starts, per typed email (known or not) on the client's network and
//! across networks, and the lockout is checked in the same step, before
//! any hashing.

use std::time::Duration;

use gatehouse_domain::{Amr, AuditEvent, AuditKind, ClientInfo, Email, Password, SecretString};
use tracing::instrument;

use super::attempts::{self, Begun};
use super::from_hash_error;
use super::issue::{self, TokenPair};
use super::mail::verification_request;
use super::mfa::second_factor_passes;
use crate::ports::{
    AccountTokenStore, AuditLog, Clock, PasswordHasher, PortError, Ports, SessionStart,
    SignInGuard, SignInStore, UserStore, Verified,
};

#[derive(Debug)]
pub struct LoginCommand {
    pub email: Email,
    pub password: Password,
    /// A TOTP or backup code; needed, and only read, when MFA is on.
    pub otp: Option<SecretString>,
    pub client: ClientInfo,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account disabled")]
    AccountDisabled,
    /// Only when the policy requires it, and only after the password
    /// matched: a stranger learns nothing from it. A new link is mailed.
    #[error("email not verified")]
    EmailNotVerified,
    /// The password matched; MFA is on and no code came with it.
    #[error("second factor required")]
    MfaRequired,
    /// The password matched; the code did not (or was spent). Counts as a
    /// failed login.
    #[error("second factor invalid")]
    MfaInvalid,
    /// Too many consecutive failures for this email: locked out.
    #[error("too many failed attempts")]
    Throttled { retry_after: Duration },
    #[error("password hashing saturated")]
    Overloaded { retry_after: Duration },
    #[error(transparent)]
    Port(#[from] PortError),
}
from_hash_error!(LoginError);

#[derive(Debug)]
pub struct Login<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> Login<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id))]
    pub async fn execute(&self, command: LoginCommand) -> Result<TokenPair, LoginError> {
        let ports = self.ports;
        // Counted as a failure before any hashing, in the same step as the
        // lockout check: a flood against one address never reaches Argon2
        // beyond what the counters allow, known address or not.
        let (attempt, found) = match attempts::begin(ports, &command.email, &command.client).await?
        {
            Begun::Started(attempt, found) => (attempt, found),
            Begun::Throttled(retry_after) => return Err(LoginError::Throttled { retry_after }),
        };
        // The account's digest doubles as the audit's trace of the typed
        // email: the store keeps no address for a failure.
        let email_digest = attempt.keys.account.0.clone();
        let credentials = found.credentials;
        let stored_hash = credentials.as_ref().map(|c| c.password_hash.clone());
        // Verify even when the account does not exist (against a dummy hash).
        let verified = match ports
            .hasher()
            .verify(command.password.clone(), stored_hash)
            .await
        {
            Ok(verified) => verified,
            Err(e) => {
                // Nothing was checked: the attempt was no guess.
                ports.store().refund_login_attempt(&attempt).await?;
                return Err(e.into());
            }
        };
        let now = ports.clock().now();

        let (credentials, needs_rehash) = match (credentials, verified) {
            (Some(c), Verified::Match { needs_rehash }) => (c, needs_rehash),
            (credentials, _) => {
                let user_id = credentials.map(|c| c.user.id);
                let reason = if user_id.is_some() {
                    "wrong_password"
                } else {
                    "unknown_email"
                };
                // The typed email may be someone's mistyped password: keep
                // only its keyed digest, enough to see many failures on one
                // address. The failure itself was counted when it started.
                let audit = AuditEvent::new(AuditKind::LoginFailed, now, user_id, &command.client)
                    .with_detail(
                        serde_json::json!({ "email_digest": email_digest, "reason": reason }),
                    );
                ports.store().record(audit).await?;
                return Err(LoginError::InvalidCredentials);
            }
        };
        let user = credentials.user;
        tracing::Span::current().record("user_id", tracing::field::display(user.id));
        if user.disabled {
            ports.store().refund_login_attempt(&attempt).await?;
            return Err(LoginError::AccountDisabled);
        }
        if ports.policy().require_verified_email && !user.email_verified {
            ports.store().refund_login_attempt(&attempt).await?;
            // Whoever knows the password may need a new link: the first one
            // may have expired, and without a session there is no resend.
            // The hourly limit applies.
            ports
                .store()
                .request_verification(verification_request(ports, &user, now)?)
                .await?;
            return Err(LoginError::EmailNotVerified);
        }
        let checked_hash = if needs_rehash {
            self.upgrade_hash(credentials.password_hash, command.password, user.id)
                .await
        } else {
            credentials.password_hash
        };

        let amr = if user.mfa_enabled {
            let Some(otp) = command.otp.as_ref() else {
                // The first half of a two-step sign-in: no guess yet.
                ports.store().refund_login_attempt(&attempt).await?;
                return Err(LoginError::MfaRequired);
            };
            // The code is checked within the attempt counted at the start,
            // so parallel code guesses are bounded like password guesses.
            if !second_factor_passes(ports, user.id, otp.expose()).await? {
                let at = ports.clock().now();
                let audit = AuditEvent::new(
                    AuditKind::LoginFailed,
                    at,
                    Some(user.id),
                    &command.client,
                )
                .with_detail(
                    serde_json::json!({ "email_digest": email_digest, "reason": "wrong_otp" }),
                );
                ports.store().record(audit).await?;
                return Err(LoginError::MfaInvalid);
            }
            Amr::PasswordAndOneTimeCode
        } else {
            Amr::Password
        };
        let (session, refresh_token) =
            issue::new_session(ports, user.id, amr, &command.client, now)?;
        let session_id = session.id;
        let audit = AuditEvent::new(
            AuditKind::LoginSucceeded,
            now,
            Some(user.id),
            &command.client,
        )
        .with_detail(
            serde_json::json!({ "session_id": session_id.to_string(), "method": "password" }),
        );
        // The session starts only if what was checked still holds: a reset,
        // "sign out everywhere" or a disabling that landed meanwhile wins.
        let guard = SignInGuard {
            password_hash: checked_hash,
            sessions_epoch: found.sessions_epoch,
        };
        match ports
            .store()
            .start_login_session(session, audit, &attempt.keys, &guard)
            .await?
        {
            SessionStart::Started => {}
            SessionStart::Stale => return Err(LoginError::InvalidCredentials),
            SessionStart::Disabled => return Err(LoginError::AccountDisabled),
        }
        let facts = issue::SessionFacts {
            session_id,
            role: user.role,
            amr,
            auth_time: now,
        };
        let access_token = issue::access_token(ports, user.id, facts, now)?;
        Ok(issue::pair(ports, access_token, refresh_token))
    }

    /// Best effort: a failed upgrade must not fail the login, and it is
    /// retried at the next one. Answers the hash stored afterwards, which
    /// the session's start then checks.
    async fn upgrade_hash(
        &self,
        old: gatehouse_domain::PasswordHash,
        password: Password,
        user_id: gatehouse_domain::UserId,
    ) -> gatehouse_domain::PasswordHash {
        let new = match self.ports.hasher().hash(password).await {
            Ok(new) => new,
            Err(error) => {
                tracing::warn!(error = %error, "password hash upgrade skipped");
                return old;
            }
        };
        match self
            .ports
            .store()
            .replace_password_hash(user_id, &old, &new)
            .await
        {
            Ok(true) => new,
            Ok(false) => old,
            Err(error) => {
                tracing::warn!(error = %error, "password hash upgrade skipped");
                old
            }
        }
    }
}
