/// Encryption at rest with the operator's data key (`AUTH_DATA_KEY`), for
/// what the store must keep but a copy of the database must not reveal:
/// queued mail bodies (they may carry a reset link), TOTP secrets.
///
/// `context` binds a ciphertext to where it is stored (a row's id), so a
/// ciphertext moved to another row does not open.
pub trait DataCipher: Send + Sync {
    /// # Errors
    /// `Unexpected` when the OS cannot supply a nonce.
    fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, super::PortError>;

    /// # Errors
    /// `Unexpected` when the ciphertext was altered, belongs to another
    /// context, or was sealed under another key.
    fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, super::PortError>;

    /// A keyed digest of `data` (hex): equal inputs give equal digests, so
    /// records can be correlated, but without the data key a digest tells
    /// nothing, not even by trying likely inputs (e.g. a typed email in
    /// the audit log).
    fn keyed_digest(&self, data: &[u8]) -> String;
}
