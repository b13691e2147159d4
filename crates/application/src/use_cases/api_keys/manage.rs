use std::time::Duration;

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, SecretString};
use tracing::instrument;

use super::{MAX_EXPIRY_DAYS, MAX_LIVE_KEYS, MAX_NAME_CHARS, PREFIX_CHARS};
use crate::ports::{
    AccessClaims, ApiKeyStore, ApiKeyView, Clock, CreateApiKeyError, NewApiKey, OpaqueTokens,
    PortError, Ports,
};
use crate::use_cases::issue::add;
use crate::use_cases::mail::{letters, outgoing};
use crate::use_cases::signed_in::{CallerError, caller, is_recent};

#[derive(Debug, thiserror::Error)]
pub enum ApiKeyError {
    #[error("name must be 1 to 100 characters")]
    InvalidName,
    #[error("expiry must be 1 to 365 days")]
    InvalidExpiry,
    #[error("at most 25 live API keys")]
    LimitReached,
    /// The access token's authentication is too old: reauthenticate.
    #[error("recent authentication required")]
    ReauthRequired,
    /// Unknown, revoked, or another user's.
    #[error("API key not found")]
    NotFound,
    #[error(transparent)]
    Caller(#[from] CallerError),
    #[error(transparent)]
    Port(#[from] PortError),
}

/// The key, shown this once, and how it will be listed.
#[derive(Debug)]
pub struct CreatedApiKey {
    pub key: SecretString,
    pub view: ApiKeyView,
}

#[derive(Debug)]
pub struct CreateApiKey<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> CreateApiKey<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        name: &str,
        expires_in_days: Option<u32>,
        client: &ClientInfo,
    ) -> Result<CreatedApiKey, ApiKeyError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(ApiKeyError::InvalidName);
        }
        if expires_in_days.is_some_and(|d| !(1..=MAX_EXPIRY_DAYS).contains(&d)) {
            return Err(ApiKeyError::InvalidExpiry);
        }
        let ports = self.ports;
        let user = caller(ports, claims).await?;
        // A stolen access token must not buy access that outlives it.
        if !is_recent(ports, claims) {
            return Err(ApiKeyError::ReauthRequired);
        }
        let key = ports.opaque().generate_api_key()?;
        let now = ports.clock().now();
        let id = uuid::Uuid::now_v7();
        let audit = AuditEvent::new(AuditKind::ApiKeyCreated, now, Some(user.id), client)
            .with_detail(serde_json::json!({ "key_id": id.to_string(), "name": name }));
        let prefix: String = key.expose().chars().take(PREFIX_CHARS).collect();
        let notice = outgoing(
            ports,
            &user.email,
            letters::api_key_created(name, &prefix, now, client),
            now,
        )?;
        let view = ports
            .store()
            .create_api_key(
                NewApiKey {
                    id,
                    user_id: user.id,
                    name: name.to_owned(),
                    digest: ports.opaque().digest(key.expose()),
                    prefix,
                    created_at: now,
                    expires_at: expires_in_days
                        .map(|d| add(now, Duration::from_secs(u64::from(d) * 24 * 3_600))),
                    audit,
                    notice,
                },
                MAX_LIVE_KEYS,
            )
            .await
            .map_err(|e| match e {
                CreateApiKeyError::LimitReached => ApiKeyError::LimitReached,
                CreateApiKeyError::Port(e) => e.into(),
            })?;
        Ok(CreatedApiKey { key, view })
    }
}

#[derive(Debug)]
pub struct ListApiKeys<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> ListApiKeys<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(&self, claims: &AccessClaims) -> Result<Vec<ApiKeyView>, ApiKeyError> {
        let user = caller(self.ports, claims).await?;
        let now = self.ports.clock().now();
        Ok(self.ports.store().live_api_keys(user.id, now).await?)
    }
}

#[derive(Debug)]
pub struct RevokeApiKey<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> RevokeApiKey<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        key_id: uuid::Uuid,
        client: &ClientInfo,
    ) -> Result<(), ApiKeyError> {
        let user = caller(self.ports, claims).await?;
        let now = self.ports.clock().now();
        let audit = AuditEvent::new(AuditKind::ApiKeyRevoked, now, Some(user.id), client)
            .with_detail(serde_json::json!({ "key_id": key_id.to_string() }));
        if self
            .ports
            .store()
            .revoke_api_key(user.id, key_id, now, audit)
            .await?
        {
            Ok(())
        } else {
            Err(ApiKeyError::NotFound)
        }
    }
}
