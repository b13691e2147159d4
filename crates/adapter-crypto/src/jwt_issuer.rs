//! Access tokens as JWTs (`typ: at+jwt`, RFC 9068). Verification pins the
//! algorithm, the signature, `iss`, `aud` and `exp`; expiry is checked
//! against the caller's clock, after the signature, so a forged token is
//! never reported as merely expired. With Ed25519, the header's `kid`
//! picks the key among those still accepted, so a rotation needs no
//! downtime.

use std::collections::HashSet;

use anyhow::anyhow;
use gatehouse_application::PortError;
use gatehouse_application::ports::{AccessClaims, AccessTokenError, TokenIssuer};
use gatehouse_domain::{Amr, Role, SecretString, SessionId, Timestamp, UserId};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use crate::jwt_keys::JwtKeys;
use serde::{Deserialize, Serialize};

const TOKEN_TYPE: &str = "at+jwt";
/// Clock skew tolerated between issuer and verifier.
const LEEWAY_MS: i64 = 1_000;

#[derive(Clone, Debug)]
pub struct JwtConfig {
    pub issuer: String,
    pub audience: String,
    /// An HS256 secret of at least 32 bytes (checked by the server's
    /// configuration), or an Ed25519 key set.
    pub keys: JwtKeys,
}

/// One key a token may name: `kid` is `None` for HS256, whose tokens carry
/// none.
#[derive(Clone)]
struct VerifyKey {
    kid: Option<String>,
    key: DecodingKey,
}

#[derive(Clone)]
pub struct JwtIssuer {
    issuer: String,
    audience: String,
    algorithm: Algorithm,
    signing_kid: Option<String>,
    encoding: EncodingKey,
    verify: Vec<VerifyKey>,
    validation: Validation,
    published: JwkSet,
}

impl std::fmt::Debug for JwtIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtIssuer")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.signing_kid)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    role: String,
    sid: String,
    amr: Vec<String>,
    /// Tokens minted before it existed have none: they count as proving
    /// nothing recent.
    #[serde(default)]
    auth_time: i64,
    jti: String,
    iat: i64,
    exp: i64,
}

impl JwtIssuer {
    #[must_use]
    pub fn new(config: &JwtConfig) -> Self {
        let (algorithm, signing_kid, encoding, verify) = match &config.keys {
            JwtKeys::Hs256(secret) => {
                let secret = secret.expose().as_bytes();
                (
                    Algorithm::HS256,
                    None,
                    EncodingKey::from_secret(secret),
                    vec![VerifyKey {
                        kid: None,
                        key: DecodingKey::from_secret(secret),
                    }],
                )
            }
            JwtKeys::Ed25519 {
                signing,
                also_accepted,
            } => {
                let current = signing.public();
                let verify = std::iter::once(&current)
                    .chain(also_accepted.iter().filter(|k| **k != current))
                    .map(|k| VerifyKey {
                        kid: Some(k.kid()),
                        key: DecodingKey::from_ed_der(k.raw()),
                    })
                    .collect();
                (
                    Algorithm::EdDSA,
                    Some(current.kid()),
                    EncodingKey::from_ed_der(signing.pkcs8_der()),
                    verify,
                )
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.algorithms = vec![algorithm];
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.required_spec_claims = ["exp", "iss", "aud", "sub"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<HashSet<_>>();
        // Expiry is checked against the injected clock in `verify`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        Self {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            algorithm,
            signing_kid,
            encoding,
            verify,
            validation,
            published: config.keys.published(),
        }
    }

    /// The JWKS document: the public keys tokens may be verified with.
    #[must_use]
    pub fn jwks(&self) -> &JwkSet {
        &self.published
    }
}

impl TokenIssuer for JwtIssuer {
    fn issue(&self, claims: &AccessClaims) -> Result<SecretString, PortError> {
        let mut header = Header::new(self.algorithm);
        header.typ = Some(TOKEN_TYPE.to_owned());
        header.kid.clone_from(&self.signing_kid);
        let body = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: claims.user_id.to_string(),
            role: claims.role.as_str().to_owned(),
            sid: claims.session_id.to_string(),
            amr: claims.amr.to_strings(),
            auth_time: claims.auth_time.timestamp(),
            jti: claims.jti.to_string(),
            iat: claims.issued_at.timestamp(),
            exp: claims.expires_at.timestamp(),
        };
        jsonwebtoken::encode(&header, &body, &self.encoding)
            .map(SecretString::new)
            .map_err(|e| PortError::Unexpected(anyhow!("signing access token: {e}")))
    }

    fn verify(&self, token: &str, now: Timestamp) -> Result<AccessClaims, AccessTokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AccessTokenError::Invalid)?;
        if header.typ.as_deref() != Some(TOKEN_TYPE) || header.alg != self.algorithm {
            return Err(AccessTokenError::Invalid);
        }
        // The token names its key; one we do not hold (retired, or never
        // ours) is a bad token like any other.
        let key = self
            .verify
            .iter()
            .find(|k| k.kid == header.kid)
            .ok_or(AccessTokenError::Invalid)?;
        let data = jsonwebtoken::decode::<Claims>(token, &key.key, &self.validation)
            .map_err(|_| AccessTokenError::Invalid)?;
        let claims = data.claims;
        if now.timestamp_millis() > claims.exp.saturating_mul(1000).saturating_add(LEEWAY_MS) {
            return Err(AccessTokenError::Expired);
        }
        let parse_uuid = |s: &str| uuid::Uuid::parse_str(s).map_err(|_| AccessTokenError::Invalid);
        let timestamp =
            |secs: i64| chrono::DateTime::from_timestamp(secs, 0).ok_or(AccessTokenError::Invalid);
        Ok(AccessClaims {
            user_id: UserId::from_uuid(parse_uuid(&claims.sub)?),
            session_id: SessionId::from_uuid(parse_uuid(&claims.sid)?),
            role: Role::parse(&claims.role).ok_or(AccessTokenError::Invalid)?,
            amr: Amr::parse(&claims.amr).ok_or(AccessTokenError::Invalid)?,
            auth_time: timestamp(claims.auth_time)?,
            jti: parse_uuid(&claims.jti)?,
            issued_at: timestamp(claims.iat)?,
            expires_at: timestamp(claims.exp)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn config() -> JwtConfig {
        JwtConfig {
            issuer: "gatehouse".into(),
            audience: "gatehouse".into(),
            keys: JwtKeys::Hs256(SecretString::new("an-hs256-secret-of-at-least-32-bytes!!")),
        }
    }

    fn at(secs: i64) -> Timestamp {
        chrono::Utc
            .timestamp_opt(1_800_000_000 + secs, 0)
            .single()
            .unwrap()
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            user_id: UserId::new(),
            session_id: SessionId::new(),
            role: Role::User,
            amr: Amr::Password,
            auth_time: at(-30),
            jti: uuid::Uuid::now_v7(),
            issued_at: at(0),
            expires_at: at(900),
        }
    }

    #[test]
    fn a_token_without_auth_time_proves_nothing_recent() {
        let issuer = JwtIssuer::new(&config());
        let body = serde_json::json!({"iss":"gatehouse","aud":"gatehouse","sub":UserId::new().to_string(),"role":"user",
            "sid":SessionId::new().to_string(),"amr":["pwd"],"jti":uuid::Uuid::now_v7().to_string(),"iat":at(0).timestamp(),"exp":at(900).timestamp()});
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(TOKEN_TYPE.to_owned());
        let token = jsonwebtoken::encode(
            &header,
            &body,
            &EncodingKey::from_secret(b"an-hs256-secret-of-at-least-32-bytes!!"),
        )
        .unwrap();
        let verified = issuer.verify(&token, at(1)).unwrap();
        assert_eq!(verified.auth_time.timestamp(), 0);
    }

    #[test]
    fn round_trips_with_the_contract_header_and_claims() {
        let issuer = JwtIssuer::new(&config());
        let c = claims();
        let token = issuer.issue(&c).unwrap();
        let header = jsonwebtoken::decode_header(token.expose()).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(issuer.verify(token.expose(), at(10)).unwrap(), c);
    }

    #[test]
    fn expiry_has_at_most_one_second_of_leeway() {
        let issuer = JwtIssuer::new(&config());
        let token = issuer.issue(&claims()).unwrap();
        assert!(issuer.verify(token.expose(), at(901)).is_ok());
        let late = at(901) + chrono::Duration::milliseconds(1);
        assert_eq!(
            issuer.verify(token.expose(), late),
            Err(AccessTokenError::Expired)
        );
    }

    #[test]
    fn foreign_issuer_audience_or_key_is_invalid() {
        let ours = JwtIssuer::new(&config());
        for other in [
            JwtConfig {
                issuer: "someone-else".into(),
                ..config()
            },
            JwtConfig {
                audience: "another-api".into(),
                ..config()
            },
            JwtConfig {
                keys: JwtKeys::Hs256(SecretString::new("a-different-secret-also-32-bytes-long")),
                ..config()
            },
        ] {
            let token = JwtIssuer::new(&other).issue(&claims()).unwrap();
            assert_eq!(
                ours.verify(token.expose(), at(10)),
                Err(AccessTokenError::Invalid)
            );
        }
    }

    #[test]
    fn forged_expired_token_is_invalid_not_expired() {
        let ours = JwtIssuer::new(&config());
        let other = JwtConfig {
            keys: JwtKeys::Hs256(SecretString::new("a-different-secret-also-32-bytes-long")),
            ..config()
        };
        let token = JwtIssuer::new(&other).issue(&claims()).unwrap();
        assert_eq!(
            ours.verify(token.expose(), at(5000)),
            Err(AccessTokenError::Invalid)
        );
    }

    #[test]
    fn alg_none_and_garbage_are_invalid() {
        use base64::Engine as _;
        let ours = JwtIssuer::new(&config());
        let token = ours.issue(&claims()).unwrap();
        let payload = token.expose().split('.').nth(1).unwrap().to_owned();
        let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"alg":"none","typ":"at+jwt"}"#);
        for bad in [
            format!("{none_header}.{payload}."),
            "not.a.jwt".to_owned(),
            String::new(),
            "a".repeat(5000),
        ] {
            assert_eq!(
                ours.verify(&bad, at(10)),
                Err(AccessTokenError::Invalid),
                "{bad}"
            );
        }
    }

    #[test]
    fn other_token_types_are_invalid() {
        let ours = JwtIssuer::new(&config());
        let body = serde_json::json!({"iss":"gatehouse","aud":"gatehouse","sub":UserId::new().to_string(),"role":"user",
            "sid":SessionId::new().to_string(),"amr":["pwd"],"jti":uuid::Uuid::now_v7().to_string(),"iat":at(0).timestamp(),"exp":at(900).timestamp()});
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &body,
            &EncodingKey::from_secret(b"an-hs256-secret-of-at-least-32-bytes!!"),
        )
        .unwrap();
        assert_eq!(ours.verify(&token, at(10)), Err(AccessTokenError::Invalid));
    }
}
