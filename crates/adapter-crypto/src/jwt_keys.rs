//! The keys access tokens are signed and verified with: one HS256 secret,
//! or an Ed25519 key set (the signing key plus the public keys still
//! accepted during a rotation), each Ed25519 key named by its RFC 7638
//! thumbprint.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use gatehouse_domain::SecretString;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
};
use rand::TryRng as _;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// What a PEM file did not hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("not an Ed25519 private key in PKCS#8 PEM (\"BEGIN PRIVATE KEY\")")]
    NotAPrivateKey,
    #[error("not an Ed25519 key in PEM (\"BEGIN PUBLIC KEY\" or \"BEGIN PRIVATE KEY\")")]
    NotAKey,
}

/// How access tokens are signed.
#[derive(Clone)]
pub enum JwtKeys {
    /// One shared secret signs and verifies; nothing is published.
    Hs256(SecretString),
    /// The private key signs; its public key and the extra ones verify and
    /// are published in the JWKS.
    Ed25519 {
        signing: Ed25519SigningKey,
        also_accepted: Vec<Ed25519PublicKey>,
    },
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hs256(_) => f.write_str("Hs256(..)"),
            Self::Ed25519 {
                signing,
                also_accepted,
            } => f
                .debug_struct("Ed25519")
                .field("kid", &signing.public().kid())
                .field(
                    "also_accepted",
                    &also_accepted.iter().map(|k| k.kid()).collect::<Vec<_>>(),
                )
                .finish(),
        }
    }
}

/// An Ed25519 private key, with the PKCS#8 form the JWT library signs
/// with; `Debug` names it by its public key only.
#[derive(Clone)]
pub struct Ed25519SigningKey {
    // Boxed: a key set is mostly moved around, rarely used.
    key: Box<SigningKey>,
    pkcs8: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Ed25519SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519SigningKey({})", self.public().kid())
    }
}

impl Ed25519SigningKey {
    /// A new key from the operating system's CSPRNG.
    ///
    /// # Errors
    /// When the operating system has no randomness to give.
    pub fn generate() -> anyhow::Result<Self> {
        let mut seed = Zeroizing::new([0_u8; 32]);
        rand::rngs::SysRng
            .try_fill_bytes(&mut *seed)
            .map_err(|e| anyhow::anyhow!("the OS random number generator failed: {e}"))?;
        Self::from_key(SigningKey::from_bytes(&seed)).map_err(|e| anyhow::anyhow!("{e}"))
    }

    fn from_key(key: SigningKey) -> Result<Self, KeyError> {
        let pkcs8 = key
            .to_pkcs8_der()
            .map_err(|_| KeyError::NotAPrivateKey)?
            .as_bytes()
            .to_vec();
        Ok(Self {
            key: Box::new(key),
            pkcs8: Zeroizing::new(pkcs8),
        })
    }

    /// Reads a PKCS#8 PEM private key (`openssl genpkey -algorithm ed25519`
    /// or `gatehouse keys generate`).
    ///
    /// # Errors
    /// `NotAPrivateKey` for anything else.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        SigningKey::from_pkcs8_pem(pem.trim())
            .map_err(|_| KeyError::NotAPrivateKey)
            .and_then(Self::from_key)
    }

    /// PKCS#8 PEM, the form `from_pem` reads.
    ///
    /// # Errors
    /// Never for a key this type holds; the encoder's signature allows it.
    pub fn to_pem(&self) -> anyhow::Result<SecretString> {
        let pem = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| anyhow::anyhow!("encoding the key as PEM: {e}"))?;
        Ok(SecretString::new(pem.as_str()))
    }

    #[must_use]
    pub fn public(&self) -> Ed25519PublicKey {
        Ed25519PublicKey(self.key.verifying_key())
    }

    pub(crate) fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }
}

/// An Ed25519 public key, named by its thumbprint.
#[derive(Clone, PartialEq, Eq)]
pub struct Ed25519PublicKey(VerifyingKey);

impl std::fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ed25519PublicKey({})", self.kid())
    }
}

impl Ed25519PublicKey {
    /// Reads a public key PEM, or the public half of a private key PEM, so
    /// that the file of a retired signing key can be listed as it is.
    ///
    /// # Errors
    /// `NotAKey` for anything else.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let pem = pem.trim();
        VerifyingKey::from_public_key_pem(pem)
            .map(Self)
            .or_else(|_| Ed25519SigningKey::from_pem(pem).map(|k| k.public()))
            .map_err(|_| KeyError::NotAKey)
    }

    /// The raw 32 bytes, base64url: the JWK's `x`.
    #[must_use]
    pub fn x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }

    /// The RFC 7638 thumbprint (SHA-256), which names the key as `kid`:
    /// the digest of the key's required members, in lexical order.
    #[must_use]
    pub fn kid(&self) -> String {
        let members = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, self.x());
        URL_SAFE_NO_PAD.encode(Sha256::digest(members.as_bytes()))
    }

    /// The key as published in the JWKS.
    #[must_use]
    pub fn jwk(&self) -> Jwk {
        let mut jwk = unnamed_jwk(self.x());
        jwk.common = CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            key_id: Some(self.kid()),
            ..CommonParameters::default()
        };
        jwk
    }

    pub(crate) fn raw(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

fn unnamed_jwk(x: String) -> Jwk {
    Jwk {
        common: CommonParameters::default(),
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x,
        }),
    }
}

impl JwtKeys {
    /// The public keys other services may verify with; none for HS256.
    #[must_use]
    pub fn published(&self) -> JwkSet {
        match self {
            Self::Hs256(_) => JwkSet { keys: Vec::new() },
            Self::Ed25519 {
                signing,
                also_accepted,
            } => {
                let current = signing.public();
                let mut keys = vec![current.jwk()];
                keys.extend(
                    also_accepted
                        .iter()
                        .filter(|k| **k != current)
                        .map(Ed25519PublicKey::jwk),
                );
                JwkSet { keys }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037, appendix A.1 and A.3: the key, and its RFC 7638 thumbprint.
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const RFC8037_KID: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

    #[test]
    fn kid_is_the_rfc_7638_thumbprint() {
        let raw: [u8; 32] = URL_SAFE_NO_PAD
            .decode(RFC8037_X)
            .unwrap()
            .try_into()
            .unwrap();
        let key = Ed25519PublicKey(VerifyingKey::from_bytes(&raw).unwrap());
        assert_eq!(key.x(), RFC8037_X);
        assert_eq!(key.kid(), RFC8037_KID);
    }

    #[test]
    fn a_generated_key_survives_pem_and_yields_its_public_half() {
        let key = Ed25519SigningKey::generate().unwrap();
        let pem = key.to_pem().unwrap();
        assert!(pem.expose().starts_with("-----BEGIN PRIVATE KEY-----"));
        let again = Ed25519SigningKey::from_pem(pem.expose()).unwrap();
        assert_eq!(again.public(), key.public());
        assert_eq!(
            Ed25519PublicKey::from_pem(pem.expose()).unwrap(),
            key.public()
        );
        assert_ne!(
            Ed25519SigningKey::generate().unwrap().public(),
            key.public()
        );
        // The thumbprint the JWT library computes agrees with ours.
        let theirs = unnamed_jwk(key.public().x())
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap();
        assert_eq!(theirs, key.public().kid());
    }

    #[test]
    fn a_public_key_pem_is_read() {
        use ed25519_dalek::pkcs8::EncodePublicKey as _;
        let key = Ed25519SigningKey::generate().unwrap();
        let pem = key
            .key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        assert_eq!(Ed25519PublicKey::from_pem(&pem).unwrap(), key.public());
        assert_eq!(
            Ed25519SigningKey::from_pem(&pem).unwrap_err(),
            KeyError::NotAPrivateKey
        );
    }

    #[test]
    fn garbage_is_no_key() {
        for bad in [
            "",
            "hello",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        ] {
            assert_eq!(Ed25519PublicKey::from_pem(bad), Err(KeyError::NotAKey));
            assert_eq!(
                Ed25519SigningKey::from_pem(bad).unwrap_err(),
                KeyError::NotAPrivateKey
            );
        }
    }

    #[test]
    fn the_key_set_publishes_current_then_accepted_once_each() {
        let current = Ed25519SigningKey::generate().unwrap();
        let old = Ed25519SigningKey::generate().unwrap().public();
        let keys = JwtKeys::Ed25519 {
            signing: current.clone(),
            also_accepted: vec![old.clone(), current.public()],
        };
        let kids: Vec<_> = keys
            .published()
            .keys
            .iter()
            .map(|k| k.common.key_id.clone().unwrap())
            .collect();
        assert_eq!(kids, vec![current.public().kid(), old.kid()]);
        let json = serde_json::to_value(keys.published()).unwrap();
        assert_eq!(json["keys"][0]["kty"], "OKP");
        assert_eq!(json["keys"][0]["crv"], "Ed25519");
        assert_eq!(json["keys"][0]["alg"], "EdDSA");
        assert_eq!(json["keys"][0]["use"], "sig");
        assert!(json["keys"][0].get("d").is_none(), "no private part");
        assert!(
            JwtKeys::Hs256(SecretString::new("x".repeat(32)))
                .published()
                .keys
                .is_empty()
        );
    }
}
