//! TOTP as a second factor, with backup codes. Setup keeps a new secret
//! pending; enable confirms it with a code from the app, answers the
//! backup codes, shown once, and ends every other session; disable takes
//! the password and a code. Enrolling needs a recent authentication and a
//! verified email: a stolen access token must not enrol its thief's
//! authenticator, nor an address squatter lock the mailbox's owner out. The secret is
//! sealed under the data key, bound to its user; backup codes are kept as
//! keyed digests, so a copy of the database reveals neither, and checking
//! one costs no Argon2.

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Password, SecretString, UserId};
use tracing::instrument;

use crate::ports::{
    AccessClaims, Clock, DataCipher, MfaDisable, MfaEnable, MfaStore, OneTimeCodes, PortError,
    Ports, SealPurpose, SignInStore, TotpEnrolment,
};
use crate::use_cases::from_hash_error;
use crate::use_cases::mail::{letters, outgoing};
use crate::use_cases::signed_in::{
    CallerError, ConfirmPasswordError, SecondFactor, caller, confirm_credentials, is_recent,
};

/// Shown once at enable; each works once in place of a TOTP code.
pub const BACKUP_CODES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("MFA is already enabled")]
    AlreadyEnabled,
    /// Not a current code of the pending secret (or no setup to confirm).
    #[error("invalid code")]
    InvalidCode,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("too many failed attempts")]
    Throttled { retry_after: std::time::Duration },
    /// The access token's authentication is too old: reauthenticate.
    #[error("recent authentication required")]
    ReauthRequired,
    #[error("email not verified")]
    EmailNotVerified,
    /// The password matched; the code did not.
    #[error("second factor invalid")]
    MfaInvalid,
    #[error("password hashing saturated")]
    Overloaded { retry_after: std::time::Duration },
    #[error(transparent)]
    Caller(#[from] CallerError),
    #[error(transparent)]
    Port(#[from] PortError),
}

from_hash_error!(MfaError);

/// Binds a sealed secret to its user: moved to another row, it won't open.
pub(crate) fn secret_context(user_id: UserId) -> Vec<u8> {
    format!("totp-secret:{user_id}").into_bytes()
}

/// What a backup code's digest is taken of. Codes are typed by people:
/// case, spaces and dashes don't count.
fn backup_code_input(user_id: UserId, code: &str) -> Vec<u8> {
    let normalised: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    format!("backup-code:{user_id}:{normalised}").into_bytes()
}

/// The digest stored for a new backup code (under the current data key).
pub(crate) fn backup_code_digest<P: Ports>(ports: &P, user_id: UserId, code: &str) -> String {
    ports
        .cipher()
        .keyed_digest(&backup_code_input(user_id, code))
}

#[derive(Debug)]
pub struct SetupTotp<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> SetupTotp<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// A new pending secret (replacing one not yet confirmed).
    ///
    /// # Errors
    /// `AlreadyEnabled` while MFA is on, `ReauthRequired` for an old
    /// authentication, `EmailNotVerified` before the email is.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(&self, claims: &AccessClaims) -> Result<TotpEnrolment, MfaError> {
        let ports = self.ports;
        let user = caller(ports, claims).await?;
        if !is_recent(ports, claims) {
            return Err(MfaError::ReauthRequired);
        }
        if user.mfa_enabled {
            return Err(MfaError::AlreadyEnabled);
        }
        if !user.email_verified {
            return Err(MfaError::EmailNotVerified);
        }
        let enrolment = ports
            .codes()
            .enrol(&ports.policy().totp_issuer, user.email.as_str())?;
        let sealed = ports.cipher().seal(
            SealPurpose::TotpSecret,
            &secret_context(user.id),
            &enrolment.secret.0,
        )?;
        if !ports.store().set_pending_totp(user.id, sealed).await? {
            return Err(MfaError::AlreadyEnabled);
        }
        Ok(enrolment)
    }
}

#[derive(Debug)]
pub struct EnableTotp<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> EnableTotp<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// Confirms the pending secret with a current code: MFA is on, the
    /// code's step is spent, and the backup codes are answered, once.
    ///
    /// # Errors
    /// `InvalidCode` for a wrong code or no pending setup,
    /// `AlreadyEnabled` while MFA is on, `ReauthRequired` for an old
    /// authentication.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Vec<SecretString>, MfaError> {
        let ports = self.ports;
        let user = caller(ports, claims).await?;
        if !is_recent(ports, claims) {
            return Err(MfaError::ReauthRequired);
        }
        let state = ports.store().mfa_state(user.id).await?;
        if state.enabled {
            return Err(MfaError::AlreadyEnabled);
        }
        let pending = state.pending.ok_or(MfaError::InvalidCode)?;
        let secret =
            ports
                .cipher()
                .open(SealPurpose::TotpSecret, &secret_context(user.id), &pending)?;
        let now = ports.clock().now();
        let step = ports
            .codes()
            .totp_step(&secret, code.trim(), now)
            .ok_or(MfaError::InvalidCode)?;
        let codes = ports.codes().backup_codes(BACKUP_CODES)?;
        let enabled = ports
            .store()
            .enable_totp(MfaEnable {
                user_id: user.id,
                pending,
                spent_step: step,
                backup_codes: codes
                    .iter()
                    .map(|c| backup_code_digest(ports, user.id, c.expose()))
                    .collect(),
                // Sessions signed in without the new factor end with its
                // arrival, but for the one that enrolled it.
                keep_session: claims.session_id,
                audit: AuditEvent::new(AuditKind::MfaEnabled, now, Some(user.id), client),
                notice: outgoing(ports, &user.email, letters::mfa_enabled(), now)?,
            })
            .await?;
        // Lost to a concurrent setup or enable: this code confirmed a
        // secret that is no longer the pending one.
        if !enabled {
            return Err(MfaError::InvalidCode);
        }
        Ok(codes)
    }
}

#[derive(Debug)]
pub struct DisableTotp<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> DisableTotp<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// Turns MFA off after the password and a current code (or a backup
    /// code), forgetting the secret and the backup codes: a stolen session
    /// that learnt the password still lacks the factor. Nothing to do when
    /// it is off.
    ///
    /// # Errors
    /// `InvalidCredentials` for a wrong password, `MfaInvalid` for a wrong
    /// code (both count towards the lockout), `Throttled` while locked out.
    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        password: Password,
        otp: &str,
        client: &ClientInfo,
    ) -> Result<(), MfaError> {
        let ports = self.ports;
        let user = caller(ports, claims).await?;
        let confirmed = confirm_credentials(
            ports,
            &user,
            password,
            SecondFactor::IfEnabled(Some(otp)),
            client,
            "mfa_disable",
        )
        .await
        .map_err(|e| match e {
            ConfirmPasswordError::Wrong => MfaError::InvalidCredentials,
            ConfirmPasswordError::MfaRequired | ConfirmPasswordError::MfaInvalid => {
                MfaError::MfaInvalid
            }
            ConfirmPasswordError::Throttled { retry_after } => MfaError::Throttled { retry_after },
            ConfirmPasswordError::Caller(e) => MfaError::Caller(e),
            ConfirmPasswordError::Hash(e) => MfaError::from(e),
            ConfirmPasswordError::Port(e) => MfaError::Port(e),
        })?;
        ports
            .store()
            .refund_login_attempt(&confirmed.attempt)
            .await?;
        let now = ports.clock().now();
        ports
            .store()
            .disable_totp(MfaDisable {
                user_id: user.id,
                audit: AuditEvent::new(AuditKind::MfaDisabled, now, Some(user.id), client),
                notice: outgoing(ports, &user.email, letters::mfa_disabled(), now)?,
            })
            .await?;
        Ok(())
    }
}

/// The second factor of a login: a TOTP code (six digits) or a backup
/// code, each good once. `false` for anything else.
///
/// # Errors
/// `PortError` when the store fails, or the secret does not open (the data
/// key changed).
pub(crate) async fn second_factor_passes<P: Ports>(
    ports: &P,
    user_id: UserId,
    otp: &str,
) -> Result<bool, PortError> {
    let otp = otp.trim();
    let now = ports.clock().now();
    if otp.len() == 6 && otp.bytes().all(|b| b.is_ascii_digit()) {
        let state = ports.store().mfa_state(user_id).await?;
        let Some(sealed) = state.secret else {
            return Ok(false);
        };
        let secret =
            ports
                .cipher()
                .open(SealPurpose::TotpSecret, &secret_context(user_id), &sealed)?;
        return match ports.codes().totp_step(&secret, otp, now) {
            Some(step) => ports.store().spend_totp_step(user_id, step).await,
            None => Ok(false),
        };
    }
    // Anything longer is a backup code or nothing; a bound keeps the
    // digest's input small.
    if otp.is_empty() || otp.len() > 64 {
        return Ok(false);
    }
    // Under every configured data key: codes stored before a key rotation
    // still match.
    let digests = ports
        .cipher()
        .keyed_digests(&backup_code_input(user_id, otp));
    ports
        .store()
        .spend_backup_code(user_id, &digests, now)
        .await
}
