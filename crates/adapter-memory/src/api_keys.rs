//! API keys, in memory, under the store's one lock.

use gatehouse_application::PortError;
use gatehouse_application::ports::{
    ApiKeyStore, ApiKeyView, CreateApiKeyError, KeyHolder, NewApiKey, TokenDigest,
};
use gatehouse_domain::{AuditEvent, Timestamp, UserId};

use crate::MemoryStore;

#[derive(Debug, Clone)]
pub(crate) struct ApiKeyRow {
    pub(crate) user_id: UserId,
    pub(crate) digest: TokenDigest,
    pub(crate) view: ApiKeyView,
    pub(crate) revoked_at: Option<Timestamp>,
}

impl ApiKeyRow {
    fn live(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.view.expires_at.is_none_or(|end| now < end)
    }
}

impl ApiKeyStore for MemoryStore {
    async fn create_api_key(
        &self,
        key: NewApiKey,
        max_live: u32,
    ) -> Result<ApiKeyView, CreateApiKeyError> {
        let mut state = self.state.lock().await;
        let live = state
            .api_keys
            .iter()
            .filter(|k| k.user_id == key.user_id && k.live(key.created_at))
            .count();
        if live >= usize::try_from(max_live).unwrap_or(usize::MAX) {
            return Err(CreateApiKeyError::LimitReached);
        }
        let view = ApiKeyView {
            id: key.id,
            name: key.name,
            prefix: key.prefix,
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: None,
        };
        state.api_keys.push(ApiKeyRow {
            user_id: key.user_id,
            digest: key.digest,
            view: view.clone(),
            revoked_at: None,
        });
        state.audit.push(key.audit);
        Ok(view)
    }

    async fn live_api_keys(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> Result<Vec<ApiKeyView>, PortError> {
        let state = self.state.lock().await;
        let mut keys: Vec<ApiKeyView> = state
            .api_keys
            .iter()
            .filter(|k| k.user_id == user_id && k.live(now))
            .map(|k| k.view.clone())
            .collect();
        keys.sort_by_key(|k| std::cmp::Reverse((k.created_at, k.id)));
        Ok(keys)
    }

    async fn revoke_api_key(
        &self,
        user_id: UserId,
        key_id: uuid::Uuid,
        at: Timestamp,
        audit: AuditEvent,
    ) -> Result<bool, PortError> {
        let mut state = self.state.lock().await;
        let Some(key) = state
            .api_keys
            .iter_mut()
            .find(|k| k.view.id == key_id && k.user_id == user_id && k.revoked_at.is_none())
        else {
            return Ok(false);
        };
        key.revoked_at = Some(at);
        state.audit.push(audit);
        Ok(true)
    }

    async fn find_key_holder(
        &self,
        digest: &TokenDigest,
        now: Timestamp,
        touch_before: Timestamp,
    ) -> Result<Option<KeyHolder>, PortError> {
        let mut state = self.state.lock().await;
        let Some(index) = state
            .api_keys
            .iter()
            .position(|k| &k.digest == digest && k.live(now))
        else {
            return Ok(None);
        };
        let key = &mut state.api_keys[index];
        if key.view.last_used_at.is_none_or(|at| at < touch_before) {
            key.view.last_used_at = Some(now);
        }
        let (key_id, expires_at, user_id) = (key.view.id, key.view.expires_at, key.user_id);
        Ok(state.users.get(&user_id).map(|(user, _)| KeyHolder {
            key_id,
            expires_at,
            user: user.clone(),
        }))
    }
}

impl crate::store::State {
    /// A password reset revokes every key of the user.
    pub(crate) fn revoke_api_keys(&mut self, user_id: UserId, at: Timestamp) {
        for key in &mut self.api_keys {
            if key.user_id == user_id && key.revoked_at.is_none() {
                key.revoked_at = Some(at);
            }
        }
    }
}
