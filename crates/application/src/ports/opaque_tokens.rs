use gatehouse_domain::SecretString;

use super::PortError;

/// The stored form of an opaque token: a digest, from which the token
/// cannot be recovered. Tokens carry 256 or 512 bits of entropy, so a fast hash is
/// enough; no salt or stretching is needed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenDigest(pub Vec<u8>);

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest(***)")
    }
}

/// Random bearer secrets: refresh tokens, and the account tokens of reset
/// and verification links.
pub trait OpaqueTokens: Send + Sync {
    /// A new token from the OS CSPRNG.
    ///
    /// # Errors
    /// `Unexpected` when the OS cannot supply randomness.
    fn generate(&self) -> Result<SecretString, PortError>;

    /// Whether `token` has the shape `generate` produces; anything else is
    /// refused before the store is asked.
    fn is_well_formed(&self, token: &str) -> bool;

    /// A shorter token for links in mails (reset, verification): 32 bytes
    /// from the OS CSPRNG, still far beyond guessing.
    ///
    /// # Errors
    /// `Unexpected` when the OS cannot supply randomness.
    fn generate_account_token(&self) -> Result<SecretString, PortError>;

    /// Whether `token` has the shape `generate_account_token` produces.
    fn is_account_token(&self, token: &str) -> bool;

    /// A new API key: `gk_` and 32 bytes from the OS CSPRNG in base64url.
    ///
    /// # Errors
    /// `Unexpected` when the OS cannot supply randomness.
    fn generate_api_key(&self) -> Result<SecretString, PortError>;

    /// Whether `token` has the shape `generate_api_key` produces.
    fn is_api_key(&self, token: &str) -> bool;

    fn digest(&self, token: &str) -> TokenDigest;

    /// Encrypts `secret` under a key derived from `key_token`, so that only
    /// a holder of `key_token` can recover it (used to answer refresh retries).
    ///
    /// # Errors
    /// `Unexpected` when encryption fails.
    fn seal(&self, key_token: &str, secret: &SecretString) -> Result<Vec<u8>, PortError>;

    /// The inverse of `seal`; `None` when `key_token` is not the one that sealed it.
    fn open(&self, key_token: &str, sealed: &[u8]) -> Option<SecretString>;
}
