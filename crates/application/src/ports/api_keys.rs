//! API keys: long-lived secrets with which a script or service acts as one
//! user. The store keeps a key's digest and display prefix, never the key.

use std::future::Future;

use gatehouse_domain::{AuditEvent, Timestamp, User, UserId};

use super::{PortError, TokenDigest};

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub id: uuid::Uuid,
    pub user_id: UserId,
    pub name: String,
    pub digest: TokenDigest,
    pub prefix: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub audit: AuditEvent,
    /// Mailed to the owner with the key's creation: a key made by whoever
    /// holds the session is then no secret to the account's owner.
    pub notice: super::OutgoingMail,
}

/// A key as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyView {
    pub id: uuid::Uuid,
    pub name: String,
    pub prefix: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

/// The owner a presented key stands for.
#[derive(Debug, Clone)]
pub struct KeyHolder {
    pub key_id: uuid::Uuid,
    pub expires_at: Option<Timestamp>,
    pub user: User,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateApiKeyError {
    #[error("too many live API keys")]
    LimitReached,
    #[error(transparent)]
    Port(#[from] PortError),
}

pub trait ApiKeyStore: Send + Sync {
    /// Stores the key and records the audit event, unless the user has
    /// `max_live` keys that are neither revoked nor expired at
    /// `key.created_at` (`LimitReached`, nothing written). Concurrent
    /// creations for one user are counted one after the other.
    ///
    /// # Errors
    /// `LimitReached`, or `Unavailable`.
    fn create_api_key(
        &self,
        key: NewApiKey,
        max_live: u32,
    ) -> impl Future<Output = Result<ApiKeyView, CreateApiKeyError>> + Send;

    /// The user's keys that are neither revoked nor expired at `now`,
    /// newest first.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn live_api_keys(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Vec<ApiKeyView>, PortError>> + Send;

    /// Revokes the key if it is one of the user's and not revoked yet,
    /// with the audit event. Answers whether it did: `false`, nothing
    /// written, for another user's key, an unknown one or one already
    /// revoked.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn revoke_api_key(
        &self,
        user_id: UserId,
        key_id: uuid::Uuid,
        at: Timestamp,
        audit: AuditEvent,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// The key with this digest, if neither revoked nor expired at `now`,
    /// with its owner, in one lookup. Records the use when the last one
    /// recorded is older than `touch_before` (so at most one write a
    /// minute per key, not one per request).
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn find_key_holder(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
        touch_before: Timestamp,
    ) -> impl Future<Output = Result<Option<KeyHolder>, PortError>> + Send;
}
