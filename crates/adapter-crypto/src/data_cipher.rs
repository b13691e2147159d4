//! Encryption at rest under `AUTH_DATA_KEY`: XChaCha20-Poly1305 with a key
//! derived by HKDF-SHA256, a random 192-bit nonce per message (safe to
//! pick at random at any volume) and the caller's context as associated
//! data. Layout: nonce (24 bytes) then ciphertext and tag.

use std::sync::Arc;

use anyhow::anyhow;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use gatehouse_application::PortError;
use gatehouse_application::ports::DataCipher;
use gatehouse_domain::SecretString;
use hkdf::Hkdf;
use sha2::Sha256;

use crate::random_tokens::random_bytes;

const NONCE_BYTES: usize = 24;
/// Versioned, so that a future scheme derives a different key.
const KEY_INFO: &[u8] = b"gatehouse/v1/data-at-rest";
const DIGEST_INFO: &[u8] = b"gatehouse/v1/keyed-digest";
/// Half of HMAC-SHA256: plenty to correlate, shorter to store.
const DIGEST_BYTES: usize = 16;

#[derive(Clone)]
pub struct DataKeyCipher {
    cipher: Arc<XChaCha20Poly1305>,
    digest_key: Arc<[u8; 32]>,
}

impl std::fmt::Debug for DataKeyCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKeyCipher(***)")
    }
}

impl DataKeyCipher {
    /// The configuration has checked the key's length already.
    pub fn new(data_key: &SecretString) -> Self {
        let hk = Hkdf::<Sha256>::new(None, data_key.expose().as_bytes());
        let mut key = [0u8; 32];
        let mut digest_key = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
        let _ = hk.expand(KEY_INFO, &mut key);
        let _ = hk.expand(DIGEST_INFO, &mut digest_key);
        let cipher = XChaCha20Poly1305::new(&Key::from(key));
        key.fill(0);
        Self {
            cipher: Arc::new(cipher),
            digest_key: Arc::new(digest_key),
        }
    }
}

impl DataCipher for DataKeyCipher {
    fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, PortError> {
        let nonce = random_bytes::<NONCE_BYTES>()?;
        let ciphertext = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| PortError::Unexpected(anyhow!("sealing failed")))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, PortError> {
        let refused = || PortError::Unexpected(anyhow!("sealed data does not open with this key"));
        if sealed.len() < NONCE_BYTES {
            return Err(refused());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let nonce = <[u8; NONCE_BYTES]>::try_from(nonce).map_err(|_| refused())?;
        self.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| refused())
    }

    fn keyed_digest(&self, data: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&*self.digest_key) else {
            return String::new();
        };
        mac.update(data);
        mac.finalize().into_bytes()[..DIGEST_BYTES]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(key: &str) -> DataKeyCipher {
        DataKeyCipher::new(&SecretString::new(key))
    }

    const KEY: &str = "a-data-key-of-at-least-thirty-two-bytes";

    #[test]
    fn opens_what_it_sealed_in_the_same_context_only() {
        let c = cipher(KEY);
        let sealed = c.seal(b"row-1", b"reset link").unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"reset link"));
        assert_eq!(c.open(b"row-1", &sealed).unwrap(), b"reset link");
        assert!(c.open(b"row-2", &sealed).is_err());
        assert!(
            cipher("another-key-of-at-least-thirty-two-bytes")
                .open(b"row-1", &sealed)
                .is_err()
        );
        assert!(c.open(b"row-1", &sealed[..10]).is_err());
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(c.open(b"row-1", &tampered).is_err());
        assert_ne!(
            sealed,
            c.seal(b"row-1", b"reset link").unwrap(),
            "fresh nonce each time"
        );
    }

    #[test]
    fn keyed_digests_correlate_only_under_the_same_key() {
        let c = cipher(KEY);
        let d = c.keyed_digest(b"ada@example.com");
        assert_eq!(d.len(), 32);
        assert_eq!(d, c.keyed_digest(b"ada@example.com"));
        assert_ne!(d, c.keyed_digest(b"bob@example.com"));
        assert_ne!(
            d,
            cipher("another-key-of-at-least-thirty-two-bytes").keyed_digest(b"ada@example.com")
        );
        assert!(!d.contains("ada"));
    }
}
