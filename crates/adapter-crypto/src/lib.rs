//! The crypto adapters: Argon2id password hashing off the async executor,
//! JWT access tokens (HS256, or Ed25519 with a published key set), random opaque tokens with their digests and the
//! sealed successors that answer refresh retries, and encryption at rest
//! under the operator's data key. Only this crate knows
//! argon2, jsonwebtoken, rand and the RustCrypto primitives.

// Security code fails with an error, never a crash (tests may still unwrap).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod argon2_engine;
mod argon2_hasher;
mod data_cipher;
mod hashing_threads;
mod jwt_issuer;
mod jwt_keys;
mod random_tokens;
mod totp_codes;

pub use argon2_hasher::{Argon2Config, Argon2Hasher};
pub use data_cipher::DataKeyCipher;
pub use hashing_threads::HashingLoad;
pub use jwt_issuer::{JwtConfig, JwtIssuer};
pub use jwt_keys::{Ed25519PublicKey, Ed25519SigningKey, JwtKeys, KeyError};
pub use random_tokens::RandomTokens;
pub use totp_codes::TotpCodes;
