//! The API-keys area: a signed-in user makes, lists and revokes keys; a
//! presented key stands for its owner on `GET /v1/users/me` and in
//! introspection. A key is shown once, at creation; the store keeps its
//! digest and a display prefix.

mod authenticate;
mod manage;

pub use authenticate::{AuthenticateApiKey, KeyError};
pub use manage::{ApiKeyError, CreateApiKey, CreatedApiKey, ListApiKeys, RevokeApiKey};

use std::time::Duration;

/// Live keys a user may have at once.
pub const MAX_LIVE_KEYS: u32 = 25;
/// `last_used_at` is written at most this often per key.
pub const RECORD_USE_EVERY: Duration = Duration::from_secs(60);
/// Characters of a key shown in lists (`gk_` and 9 more).
pub const PREFIX_CHARS: usize = 12;
/// Names are 1 to 100 characters.
pub const MAX_NAME_CHARS: usize = 100;
/// A key may be made to expire after 1 to 365 days.
pub const MAX_EXPIRY_DAYS: u32 = 365;
