//! Encryption at rest under `AUTH_DATA_KEY`: XChaCha20-Poly1305 with a key
//! derived by HKDF-SHA256 for each purpose (mail bodies, TOTP secrets), a
//! random 192-bit nonce per message (safe to pick at random at any volume)
//! and the caller's context as associated data.
//!
//! Layout: a format byte (1), the 4-byte id of the data key that sealed it,
//! the nonce (24 bytes), then ciphertext and tag. The key id lets a key
//! rotation go without downtime: the new key seals, and the previous ones
//! (`AUTH_DATA_KEY_PREVIOUS`) still open what they sealed. Data sealed
//! before ids existed (nonce first, one key for every purpose) still opens
//! with the key that sealed it.

use std::sync::Arc;

use anyhow::anyhow;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use gatehouse_application::PortError;
use gatehouse_application::ports::{DataCipher, SealPurpose};
use gatehouse_domain::SecretString;
use hkdf::Hkdf;
use sha2::Sha256;

use crate::random_tokens::random_bytes;

const FORMAT: u8 = 1;
const KEY_ID_BYTES: usize = 4;
const NONCE_BYTES: usize = 24;
const HEADER_BYTES: usize = 1 + KEY_ID_BYTES;
/// What every key derivation is labelled with; versioned, so that a future
/// scheme derives different keys.
const KEY_ID_INFO: &[u8] = b"gatehouse/v1/key-id";
const LEGACY_KEY_INFO: &[u8] = b"gatehouse/v1/data-at-rest";
const DIGEST_INFO: &[u8] = b"gatehouse/v1/keyed-digest";
/// Half of HMAC-SHA256: plenty to correlate, shorter to store.
const DIGEST_BYTES: usize = 16;

fn purpose_info(purpose: SealPurpose) -> &'static [u8] {
    match purpose {
        SealPurpose::MailBody => b"gatehouse/v1/seal/mail-body",
        SealPurpose::TotpSecret => b"gatehouse/v1/seal/totp-secret",
    }
}

/// The keys derived from one data key.
struct DataKey {
    id: [u8; KEY_ID_BYTES],
    mail_body: XChaCha20Poly1305,
    totp_secret: XChaCha20Poly1305,
    /// The one key of the format before key ids, for reading only.
    legacy: XChaCha20Poly1305,
    digest_key: [u8; 32],
}

impl DataKey {
    fn derive(data_key: &SecretString) -> Self {
        let hk = Hkdf::<Sha256>::new(None, data_key.expose().as_bytes());
        // Every output is far below HKDF-SHA256's 8160-byte limit, so
        // expand cannot fail.
        let cipher = |info: &[u8]| {
            let mut key = [0u8; 32];
            let _ = hk.expand(info, &mut key);
            let cipher = XChaCha20Poly1305::new(&Key::from(key));
            key.fill(0);
            cipher
        };
        let mut id = [0u8; KEY_ID_BYTES];
        let _ = hk.expand(KEY_ID_INFO, &mut id);
        let mut digest_key = [0u8; 32];
        let _ = hk.expand(DIGEST_INFO, &mut digest_key);
        Self {
            id,
            mail_body: cipher(purpose_info(SealPurpose::MailBody)),
            totp_secret: cipher(purpose_info(SealPurpose::TotpSecret)),
            legacy: cipher(LEGACY_KEY_INFO),
            digest_key,
        }
    }

    fn cipher(&self, purpose: SealPurpose) -> &XChaCha20Poly1305 {
        match purpose {
            SealPurpose::MailBody => &self.mail_body,
            SealPurpose::TotpSecret => &self.totp_secret,
        }
    }

    fn digest(&self, data: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.digest_key) else {
            return String::new();
        };
        mac.update(data);
        mac.finalize().into_bytes()[..DIGEST_BYTES]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.digest_key.fill(0);
    }
}

#[derive(Clone)]
pub struct DataKeyCipher {
    /// The current key first (it seals), then the previous ones.
    keys: Arc<[DataKey]>,
}

impl std::fmt::Debug for DataKeyCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKeyCipher(***)")
    }
}

fn open_with(
    cipher: &XChaCha20Poly1305,
    nonce_and_ciphertext: &[u8],
    context: &[u8],
) -> Option<Vec<u8>> {
    if nonce_and_ciphertext.len() < NONCE_BYTES {
        return None;
    }
    let (nonce, ciphertext) = nonce_and_ciphertext.split_at(NONCE_BYTES);
    let nonce = <[u8; NONCE_BYTES]>::try_from(nonce).ok()?;
    cipher
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: ciphertext,
                aad: context,
            },
        )
        .ok()
}

impl DataKeyCipher {
    /// The configuration has checked the key's length already.
    pub fn new(data_key: &SecretString) -> Self {
        Self::with_previous(data_key, &[])
    }

    /// `data_key` seals; `previous` keys still open (and match digests)
    /// during a rotation.
    pub fn with_previous(data_key: &SecretString, previous: &[SecretString]) -> Self {
        let keys: Vec<DataKey> = std::iter::once(data_key)
            .chain(previous)
            .map(DataKey::derive)
            .collect();
        Self { keys: keys.into() }
    }

    fn current(&self) -> Result<&DataKey, PortError> {
        self.keys
            .first()
            .ok_or_else(|| PortError::Unexpected(anyhow!("no data key")))
    }
}

impl DataCipher for DataKeyCipher {
    fn seal(
        &self,
        purpose: SealPurpose,
        context: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, PortError> {
        let key = self.current()?;
        let nonce = random_bytes::<NONCE_BYTES>()?;
        let ciphertext = key
            .cipher(purpose)
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| PortError::Unexpected(anyhow!("sealing failed")))?;
        let mut sealed = Vec::with_capacity(HEADER_BYTES + NONCE_BYTES + ciphertext.len());
        sealed.push(FORMAT);
        sealed.extend_from_slice(&key.id);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    fn open(
        &self,
        purpose: SealPurpose,
        context: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, PortError> {
        let by_id = sealed
            .split_first()
            .filter(|(format, _)| **format == FORMAT)
            .and_then(|(_, rest)| {
                let (id, body) = rest.split_at_checked(KEY_ID_BYTES)?;
                let key = self.keys.iter().find(|k| k.id == id)?;
                open_with(key.cipher(purpose), body, context)
            });
        by_id
            .or_else(|| {
                // Sealed before key ids (nonce first, one key per data key):
                // only mail bodies were, so no other purpose falls back.
                (purpose == SealPurpose::MailBody)
                    .then(|| {
                        self.keys
                            .iter()
                            .find_map(|k| open_with(&k.legacy, sealed, context))
                    })
                    .flatten()
            })
            .ok_or_else(|| {
                PortError::Unexpected(anyhow!("sealed data does not open with any data key"))
            })
    }

    fn keyed_digest(&self, data: &[u8]) -> String {
        self.keys
            .first()
            .map(|k| k.digest(data))
            .unwrap_or_default()
    }

    fn keyed_digests(&self, data: &[u8]) -> Vec<String> {
        self.keys.iter().map(|k| k.digest(data)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(key: &str) -> DataKeyCipher {
        DataKeyCipher::new(&SecretString::new(key))
    }

    const KEY: &str = "a-data-key-of-at-least-thirty-two-bytes";
    const NEW_KEY: &str = "another-key-of-at-least-thirty-two-bytes";
    const MAIL: SealPurpose = SealPurpose::MailBody;

    #[test]
    fn opens_what_it_sealed_in_the_same_context_and_purpose_only() {
        let c = cipher(KEY);
        let sealed = c.seal(MAIL, b"row-1", b"reset link").unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"reset link"));
        assert_eq!(c.open(MAIL, b"row-1", &sealed).unwrap(), b"reset link");
        assert!(c.open(MAIL, b"row-2", &sealed).is_err());
        assert!(
            c.open(SealPurpose::TotpSecret, b"row-1", &sealed).is_err(),
            "each purpose its own key"
        );
        assert!(cipher(NEW_KEY).open(MAIL, b"row-1", &sealed).is_err());
        assert!(c.open(MAIL, b"row-1", &sealed[..10]).is_err());
        assert!(c.open(MAIL, b"row-1", &[]).is_err());
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(c.open(MAIL, b"row-1", &tampered).is_err());
        assert_ne!(
            sealed,
            c.seal(MAIL, b"row-1", b"reset link").unwrap(),
            "fresh nonce each time"
        );
    }

    #[test]
    fn a_rotation_opens_the_old_and_seals_with_the_new() {
        let old = cipher(KEY);
        let sealed_before = old
            .seal(SealPurpose::TotpSecret, b"user-1", b"secret")
            .unwrap();
        let rotated =
            DataKeyCipher::with_previous(&SecretString::new(NEW_KEY), &[SecretString::new(KEY)]);
        assert_eq!(
            rotated
                .open(SealPurpose::TotpSecret, b"user-1", &sealed_before)
                .unwrap(),
            b"secret"
        );
        let sealed_after = rotated
            .seal(SealPurpose::TotpSecret, b"user-1", b"secret")
            .unwrap();
        assert_eq!(sealed_after[1..HEADER_BYTES], rotated.keys[0].id);
        assert!(
            old.open(SealPurpose::TotpSecret, b"user-1", &sealed_after)
                .is_err()
        );
        assert!(
            cipher(NEW_KEY)
                .open(SealPurpose::TotpSecret, b"user-1", &sealed_after)
                .is_ok()
        );
        // Digests: the new key's first, then the old one's.
        assert_eq!(
            rotated.keyed_digests(b"x"),
            vec![cipher(NEW_KEY).keyed_digest(b"x"), old.keyed_digest(b"x")]
        );
    }

    #[test]
    fn data_sealed_before_key_ids_still_opens() {
        // The former layout: nonce, then ciphertext under the one legacy key.
        let key = DataKey::derive(&SecretString::new(KEY));
        let nonce = [7u8; NONCE_BYTES];
        let mut legacy = nonce.to_vec();
        legacy.extend(
            key.legacy
                .encrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: b"queued before the upgrade",
                        aad: b"mail-1",
                    },
                )
                .unwrap(),
        );
        assert_eq!(
            cipher(KEY).open(MAIL, b"mail-1", &legacy).unwrap(),
            b"queued before the upgrade"
        );
        assert!(
            cipher(KEY)
                .open(SealPurpose::TotpSecret, b"mail-1", &legacy)
                .is_err(),
            "secrets were never sealed the old way"
        );
    }

    #[test]
    fn keyed_digests_correlate_only_under_the_same_key() {
        let c = cipher(KEY);
        let d = c.keyed_digest(b"ada@example.com");
        assert_eq!(d.len(), 32);
        assert_eq!(d, c.keyed_digest(b"ada@example.com"));
        assert_ne!(d, c.keyed_digest(b"bob@example.com"));
        assert_ne!(d, cipher(NEW_KEY).keyed_digest(b"ada@example.com"));
        assert!(!d.contains("ada"));
    }
}
