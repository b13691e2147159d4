//! TOTP secrets and backup codes, in memory, under the store's one lock.

use gatehouse_application::PortError;
use gatehouse_application::ports::{MfaDisable, MfaEnable, MfaState, MfaStore};
use gatehouse_domain::{Timestamp, UserId};

use crate::MemoryStore;

#[derive(Debug, Clone, Default)]
pub(crate) struct MfaRow {
    secret: Option<Vec<u8>>,
    pending: Option<Vec<u8>>,
    last_step: Option<i64>,
    /// Digest to when it was spent.
    backup_codes: Vec<(String, Option<Timestamp>)>,
}

impl MfaStore for MemoryStore {
    async fn set_pending_totp(&self, user_id: UserId, sealed: Vec<u8>) -> Result<bool, PortError> {
        let mut state = self.state.lock().await;
        match state.users.get(&user_id) {
            Some((user, _)) if !user.mfa_enabled => {}
            _ => return Ok(false),
        }
        state.mfa.entry(user_id).or_default().pending = Some(sealed);
        Ok(true)
    }

    async fn mfa_state(&self, user_id: UserId) -> Result<MfaState, PortError> {
        let state = self.state.lock().await;
        let enabled = state
            .users
            .get(&user_id)
            .is_some_and(|(user, _)| user.mfa_enabled);
        let row = state.mfa.get(&user_id).cloned().unwrap_or_default();
        Ok(MfaState {
            enabled,
            secret: row.secret,
            pending: row.pending,
        })
    }

    async fn enable_totp(&self, enable: MfaEnable) -> Result<bool, PortError> {
        let mut state = self.state.lock().await;
        let row = state.mfa.get(&enable.user_id).cloned().unwrap_or_default();
        let Some((user, _)) = state.users.get_mut(&enable.user_id) else {
            return Ok(false);
        };
        if user.mfa_enabled || row.pending.as_ref() != Some(&enable.pending) {
            return Ok(false);
        }
        user.mfa_enabled = true;
        state.mfa.insert(
            enable.user_id,
            MfaRow {
                secret: row.pending,
                pending: None,
                last_step: Some(enable.spent_step),
                backup_codes: enable.backup_codes.into_iter().map(|d| (d, None)).collect(),
            },
        );
        state.audit.push(enable.audit);
        state.enqueue(enable.notice);
        Ok(true)
    }

    async fn disable_totp(&self, disable: MfaDisable) -> Result<bool, PortError> {
        let mut state = self.state.lock().await;
        let Some((user, _)) = state.users.get_mut(&disable.user_id) else {
            return Ok(false);
        };
        if !user.mfa_enabled {
            return Ok(false);
        }
        user.mfa_enabled = false;
        state.mfa.remove(&disable.user_id);
        state.audit.push(disable.audit);
        state.enqueue(disable.notice);
        Ok(true)
    }

    async fn spend_totp_step(&self, user_id: UserId, step: i64) -> Result<bool, PortError> {
        let mut state = self.state.lock().await;
        let enabled = state
            .users
            .get(&user_id)
            .is_some_and(|(user, _)| user.mfa_enabled);
        let Some(row) = state.mfa.get_mut(&user_id).filter(|_| enabled) else {
            return Ok(false);
        };
        if row.last_step.is_some_and(|last| last >= step) {
            return Ok(false);
        }
        row.last_step = Some(step);
        Ok(true)
    }

    async fn spend_backup_code(
        &self,
        user_id: UserId,
        digests: &[String],
        at: Timestamp,
    ) -> Result<bool, PortError> {
        let mut state = self.state.lock().await;
        let Some(code) = state.mfa.get_mut(&user_id).and_then(|row| {
            row.backup_codes
                .iter_mut()
                .find(|(d, used)| digests.contains(d) && used.is_none())
        }) else {
            return Ok(false);
        };
        code.1 = Some(at);
        Ok(true)
    }
}
