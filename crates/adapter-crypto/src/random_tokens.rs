//! Opaque bearer tokens: 64 bytes from the OS CSPRNG, base64url without
//! padding (86 characters). The store keeps only SHA-256 digests.
//!
//! To answer a refresh retry with the same successor, the successor is kept
//! encrypted with ChaCha20-Poly1305 under a key derived (HKDF-SHA256) from
//! the presented token. The database holds neither token, so a copy of it
//! alone yields nothing usable.

use anyhow::anyhow;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use gatehouse_application::PortError;
use gatehouse_application::ports::{OpaqueTokens, TokenDigest};
use gatehouse_domain::SecretString;
use hkdf::Hkdf;
use rand::TryRng;
use sha2::{Digest, Sha256};

const TOKEN_BYTES: usize = 64;
const TOKEN_CHARS: usize = 86;
const ACCOUNT_TOKEN_BYTES: usize = 32;
const ACCOUNT_TOKEN_CHARS: usize = 43;
const API_KEY_PREFIX: &str = "gk_";
const NONCE_BYTES: usize = 12;
const SEAL_INFO: &[u8] = b"gatehouse/v1/refresh-successor";

#[derive(Debug, Clone, Copy, Default)]
pub struct RandomTokens;

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], PortError> {
    let mut bytes = [0u8; N];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| PortError::Unexpected(anyhow!("OS randomness unavailable: {e}")))?;
    Ok(bytes)
}

fn cipher_for(key_token: &str) -> ChaCha20Poly1305 {
    let hk = Hkdf::<Sha256>::new(None, key_token.as_bytes());
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    let _ = hk.expand(SEAL_INFO, &mut key);
    ChaCha20Poly1305::new(&Key::from(key))
}

fn is_base64url(token: &str) -> bool {
    token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl OpaqueTokens for RandomTokens {
    fn generate(&self) -> Result<SecretString, PortError> {
        Ok(SecretString::new(
            URL_SAFE_NO_PAD.encode(random_bytes::<TOKEN_BYTES>()?),
        ))
    }

    fn is_well_formed(&self, token: &str) -> bool {
        token.len() == TOKEN_CHARS && is_base64url(token)
    }

    fn generate_account_token(&self) -> Result<SecretString, PortError> {
        Ok(SecretString::new(
            URL_SAFE_NO_PAD.encode(random_bytes::<ACCOUNT_TOKEN_BYTES>()?),
        ))
    }

    fn is_account_token(&self, token: &str) -> bool {
        token.len() == ACCOUNT_TOKEN_CHARS && is_base64url(token)
    }

    fn generate_api_key(&self) -> Result<SecretString, PortError> {
        Ok(SecretString::new(format!(
            "{API_KEY_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(random_bytes::<ACCOUNT_TOKEN_BYTES>()?)
        )))
    }

    fn is_api_key(&self, token: &str) -> bool {
        token
            .strip_prefix(API_KEY_PREFIX)
            .is_some_and(|rest| rest.len() == ACCOUNT_TOKEN_CHARS && is_base64url(rest))
    }

    fn digest(&self, token: &str) -> TokenDigest {
        TokenDigest(Sha256::digest(token.as_bytes()).to_vec())
    }

    fn seal(&self, key_token: &str, secret: &SecretString) -> Result<Vec<u8>, PortError> {
        let nonce = random_bytes::<NONCE_BYTES>()?;
        let ciphertext = cipher_for(key_token)
            .encrypt(&Nonce::from(nonce), secret.expose().as_bytes())
            .map_err(|_| PortError::Unexpected(anyhow!("sealing failed")))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    fn open(&self, key_token: &str, sealed: &[u8]) -> Option<SecretString> {
        if sealed.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let nonce = Nonce::from(<[u8; NONCE_BYTES]>::try_from(nonce).ok()?);
        let plain = cipher_for(key_token).decrypt(&nonce, ciphertext).ok()?;
        String::from_utf8(plain).ok().map(SecretString::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_86_url_safe_chars_and_unique() {
        let t = RandomTokens;
        let a = t.generate().unwrap();
        let b = t.generate().unwrap();
        assert_eq!(a.expose().len(), 86);
        assert!(t.is_well_formed(a.expose()));
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).unwrap().len(), 64);
    }

    #[test]
    fn account_tokens_are_32_bytes_in_43_chars() {
        let t = RandomTokens;
        let a = t.generate_account_token().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(a.expose()).unwrap().len(), 32);
        assert!(t.is_account_token(a.expose()));
        assert!(!t.is_well_formed(a.expose()));
        assert!(!t.is_account_token(t.generate().unwrap().expose()));
        assert!(!t.is_account_token(&"é".repeat(21)));
        assert_ne!(a, t.generate_account_token().unwrap());
    }

    #[test]
    fn api_keys_are_gk_and_43_chars() {
        let t = RandomTokens;
        let key = t.generate_api_key().unwrap();
        assert_eq!(key.expose().len(), 46);
        assert!(key.expose().starts_with("gk_"));
        assert!(t.is_api_key(key.expose()));
        assert!(!t.is_api_key(&key.expose()[3..]));
        assert!(!t.is_api_key(t.generate_account_token().unwrap().expose()));
        assert_ne!(key, t.generate_api_key().unwrap());
    }

    #[test]
    fn malformed_tokens_are_recognised() {
        let t = RandomTokens;
        assert!(!t.is_well_formed(""));
        assert!(!t.is_well_formed(&"a".repeat(85)));
        assert!(!t.is_well_formed(&format!("{}=", "a".repeat(85))));
        assert!(!t.is_well_formed(&"é".repeat(43)));
    }

    #[test]
    fn digest_is_sha256_and_not_the_token() {
        let t = RandomTokens;
        let token = t.generate().unwrap();
        let d = t.digest(token.expose());
        assert_eq!(d.0.len(), 32);
        assert_eq!(d, t.digest(token.expose()));
        assert_ne!(d.0, token.expose().as_bytes()[..32].to_vec());
    }

    #[test]
    fn only_the_presented_token_opens_the_sealed_successor() {
        let t = RandomTokens;
        let presented = t.generate().unwrap();
        let successor = t.generate().unwrap();
        let sealed = t.seal(presented.expose(), &successor).unwrap();
        assert!(
            !sealed
                .windows(16)
                .any(|w| successor.expose().as_bytes().windows(16).any(|s| s == w))
        );
        assert_eq!(t.open(presented.expose(), &sealed), Some(successor));
        let other = t.generate().unwrap();
        assert_eq!(t.open(other.expose(), &sealed), None);
        assert_eq!(t.open(presented.expose(), &sealed[..5]), None);
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(t.open(presented.expose(), &tampered), None);
    }
}
