//! Second-factor codes: TOTP (RFC 6238) and backup codes. Pure functions
//! of their inputs and the OS CSPRNG; what was spent is the store's.

use gatehouse_domain::{SecretString, Timestamp};

use super::PortError;

/// What an authenticator app needs to enrol, shown once at setup.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    /// The raw secret, to be sealed by the caller before it is stored.
    pub secret: SecretBytes,
    /// The secret in base32, for typing it in.
    pub secret_base32: SecretString,
    /// `otpauth://totp/...`, which carries the secret.
    pub otpauth_uri: SecretString,
    /// The URI as a QR code, an inline SVG document.
    pub qr_svg: SecretString,
}

/// Key material that never prints.
#[derive(Clone)]
pub struct SecretBytes(pub Vec<u8>);

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBytes(***)")
    }
}

pub trait OneTimeCodes: Send + Sync {
    /// A new secret of 160 bits, labelled `issuer:account` for the app.
    ///
    /// # Errors
    /// `Unexpected` when the OS has no randomness to give.
    fn enrol(&self, issuer: &str, account: &str) -> Result<TotpEnrolment, PortError>;

    /// The 30-second step at which `code` is the TOTP of `secret`, looking
    /// one step either side of `now`; `None` if it is no such code.
    fn totp_step(&self, secret: &[u8], code: &str, now: Timestamp) -> Option<i64>;

    /// `count` new backup codes, as shown to the user.
    ///
    /// # Errors
    /// `Unexpected` when the OS has no randomness to give.
    fn backup_codes(&self, count: usize) -> Result<Vec<SecretString>, PortError>;
}
