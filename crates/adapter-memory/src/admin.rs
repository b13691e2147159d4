//! The admin queries, in memory, under the store's one lock (which also
//! serialises the last-admin guard).

use gatehouse_application::PortError;
use gatehouse_application::ports::{
    AdminStore, AuditQuery, RevokeReason, SessionRevocation, UpdateUserError, UserUpdate,
};
use gatehouse_domain::{AuditEvent, Role, User, UserId};

use crate::MemoryStore;

impl AdminStore for MemoryStore {
    async fn list_users(&self, after: Option<UserId>, limit: u32) -> Result<Vec<User>, PortError> {
        let state = self.state.lock().await;
        let mut users: Vec<User> = state
            .users
            .values()
            .map(|(u, _)| u.clone())
            .filter(|u| after.is_none_or(|after| u.id > after))
            .collect();
        users.sort_by_key(|u| u.id);
        users.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(users)
    }

    async fn update_user(&self, update: UserUpdate) -> Result<User, UpdateUserError> {
        let mut state = self.state.lock().await;
        let Some((current, _)) = state.users.get(&update.user_id) else {
            return Err(UpdateUserError::NotFound);
        };
        let role = update.role.unwrap_or(current.role);
        let disabled = update.disabled.unwrap_or(current.disabled);
        let was_admin = current.role == Role::Admin && !current.disabled;
        let stays_admin = role == Role::Admin && !disabled;
        let other_admins = state
            .users
            .values()
            .filter(|(u, _)| u.id != update.user_id && u.role == Role::Admin && !u.disabled)
            .count();
        if was_admin && !stays_admin && other_admins == 0 {
            return Err(UpdateUserError::LastAdmin);
        }
        let Some((user, _)) = state.users.get_mut(&update.user_id) else {
            return Err(UpdateUserError::NotFound);
        };
        user.role = role;
        user.disabled = disabled;
        let user = user.clone();
        if disabled {
            let revocation = SessionRevocation {
                user_id: user.id,
                at: update.at,
                reason: RevokeReason::AdminAction,
                audit: update.audit.clone(),
            };
            for id in state.sessions_of(user.id) {
                state.revoke(id, &revocation);
            }
        }
        state.audit.push(update.audit);
        Ok(user)
    }

    async fn audit_events(&self, query: AuditQuery) -> Result<Vec<AuditEvent>, PortError> {
        let state = self.state.lock().await;
        let mut events: Vec<AuditEvent> = state
            .audit
            .iter()
            .filter(|e| query.user_id.is_none_or(|id| e.user_id == Some(id)))
            .filter(|e| query.kind.is_none_or(|k| e.kind == k))
            .filter(|e| query.before.is_none_or(|before| (e.at, e.id) < before))
            .cloned()
            .collect();
        events.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
        events.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
        Ok(events)
    }
}
