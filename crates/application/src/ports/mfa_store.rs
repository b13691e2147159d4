//! TOTP and backup codes. The store keeps the TOTP secret sealed under the
//! data key and backup codes as keyed digests only; every spend is one
//! conditional update, so a code works once however many requests race.

use std::future::Future;

use gatehouse_domain::{AuditEvent, SessionId, Timestamp, UserId};

use super::{OutgoingMail, PortError};

/// A user's second factor, as login and enrolment need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MfaState {
    pub enabled: bool,
    /// The sealed secret in use, once enabled.
    pub secret: Option<Vec<u8>>,
    /// The sealed secret of a setup not yet confirmed.
    pub pending: Option<Vec<u8>>,
}

/// Turning MFA on: the pending secret becomes the secret, with the step of
/// the code that confirmed it already spent.
#[derive(Debug, Clone)]
pub struct MfaEnable {
    pub user_id: UserId,
    /// The pending secret the code was checked against: if another setup
    /// replaced it meanwhile, nothing happens.
    pub pending: Vec<u8>,
    pub spent_step: i64,
    /// Keyed digests of the new backup codes.
    pub backup_codes: Vec<String>,
    /// Every other session of the user ends with the enabling (they were
    /// signed in without the factor).
    pub keep_session: SessionId,
    pub audit: AuditEvent,
    pub notice: OutgoingMail,
}

#[derive(Debug, Clone)]
pub struct MfaDisable {
    pub user_id: UserId,
    pub audit: AuditEvent,
    pub notice: OutgoingMail,
}

/// An admin removes a user's second factor (the user lost the app and the
/// backup codes): every session ends with it.
#[derive(Debug, Clone)]
pub struct MfaRemoval {
    pub user_id: UserId,
    pub at: Timestamp,
    pub audit: AuditEvent,
    pub notice: OutgoingMail,
}

pub trait MfaStore: Send + Sync {
    /// Keeps `sealed` as the pending secret (replacing a pending one),
    /// unless MFA is on: then `false`, nothing written.
    ///
    /// # Errors
    /// `Unavailable`.
    fn set_pending_totp(
        &self,
        user_id: UserId,
        sealed: Vec<u8>,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// # Errors
    /// `Unavailable`.
    fn mfa_state(
        &self,
        user_id: UserId,
    ) -> impl Future<Output = Result<MfaState, PortError>> + Send;

    /// Turns MFA on, stores the backup codes (replacing any), ends every
    /// session of the user but `keep_session` (as "sign out everywhere"
    /// does, the sessions epoch included), records the audit event and
    /// queues the notice, all at once, if MFA is off and
    /// `enable.pending` is still the pending secret; else `false`, nothing
    /// written.
    ///
    /// # Errors
    /// `Unavailable`.
    fn enable_totp(
        &self,
        enable: MfaEnable,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Turns MFA off and forgets the secret, the pending one and the
    /// backup codes, with the audit event and the notice; `false` (nothing
    /// written) when MFA was off.
    ///
    /// # Errors
    /// `Unavailable`.
    fn disable_totp(
        &self,
        disable: MfaDisable,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Removes the user's second factor whatever its state (secret, pending
    /// secret, backup codes) and ends every session of the user (as "sign
    /// out everywhere" does, the sessions epoch included), with the audit
    /// event and the notice; `false`, nothing written, for an unknown user.
    ///
    /// # Errors
    /// `Unavailable`.
    fn remove_mfa(
        &self,
        removal: MfaRemoval,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Spends TOTP step `step`: `true` only if MFA is on and no step at
    /// or after it was spent (a code is good once, and never after a later
    /// one).
    ///
    /// # Errors
    /// `Unavailable`.
    fn spend_totp_step(
        &self,
        user_id: UserId,
        step: i64,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Spends the backup code whose digest is one of `digests` (one per
    /// configured data key): `true` only the first time.
    ///
    /// # Errors
    /// `Unavailable`.
    fn spend_backup_code(
        &self,
        user_id: UserId,
        digests: &[String],
        at: Timestamp,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
}
