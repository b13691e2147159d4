/// What a sealed value is for: each purpose has its own key, derived from
/// the data key, so a ciphertext of one kind never opens as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealPurpose {
    /// A queued mail's body (it may carry a reset link).
    MailBody,
    /// A user's TOTP secret.
    TotpSecret,
}

/// Encryption at rest with the operator's data key (`AUTH_DATA_KEY`), for
/// what the store must keep but a copy of the database must not reveal:
/// queued mail bodies, TOTP secrets.
///
/// `context` binds a ciphertext to where it is stored (a row's id), so a
/// ciphertext moved to another row does not open. A ciphertext names the
/// key that sealed it, so keys can be rotated: the current one seals, the
/// previous ones still open.
pub trait DataCipher: Send + Sync {
    /// # Errors
    /// `Unexpected` when the OS cannot supply a nonce.
    fn seal(
        &self,
        purpose: SealPurpose,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, super::PortError>;

    /// # Errors
    /// `Unexpected` when the ciphertext was altered, belongs to another
    /// context or purpose, or was sealed under a key no longer configured.
    fn open(
        &self,
        purpose: SealPurpose,
        context: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, super::PortError>;

    /// A keyed digest of `data` (hex) under the current key: equal inputs
    /// give equal digests, so records can be correlated, but without the
    /// data key a digest tells nothing, not even by trying likely inputs
    /// (e.g. a typed email in the audit log).
    fn keyed_digest(&self, data: &[u8]) -> String;

    /// The digest under every configured key, the current one first: what
    /// was stored before a rotation still matches one of them.
    fn keyed_digests(&self, data: &[u8]) -> Vec<String>;
}
