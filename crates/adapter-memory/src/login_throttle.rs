//! Failed-login counters, in memory, with the port's atomicity (one lock).

use gatehouse_application::PortError;
use gatehouse_application::ports::{
    LoginFailure, LoginLookup, LoginThrottleStore, NewSession, ThrottleKey, UserCredentials,
};
use gatehouse_domain::{AuditEvent, Email, Timestamp};

use crate::MemoryStore;

impl LoginThrottleStore for MemoryStore {
    async fn find_login(&self, email: &Email, key: &ThrottleKey) -> Result<LoginLookup, PortError> {
        let state = self.state.lock().await;
        let credentials =
            state
                .users
                .values()
                .find(|(u, _)| &u.email == email)
                .map(|(user, hash)| UserCredentials {
                    user: user.clone(),
                    password_hash: hash.clone(),
                });
        let locked_until = state
            .login_throttle
            .get(&key.0)
            .and_then(|(_, until, _)| *until);
        Ok(LoginLookup {
            credentials,
            locked_until,
        })
    }

    async fn record_login_failure(
        &self,
        failure: LoginFailure,
    ) -> Result<Option<Timestamp>, PortError> {
        let mut state = self.state.lock().await;
        let entry = state
            .login_throttle
            .entry(failure.key.0)
            .or_insert((0, None, failure.at));
        entry.0 = entry.0.saturating_add(1);
        entry.2 = failure.at;
        if let Some(lockout) = failure.lockout.after(entry.0) {
            entry.1 = Some(
                failure.at + chrono::Duration::from_std(lockout).unwrap_or(chrono::Duration::MAX),
            );
        }
        let until = entry.1;
        state.audit.push(failure.audit);
        Ok(until)
    }

    async fn start_login_session(
        &self,
        session: NewSession,
        audit: AuditEvent,
        key: &ThrottleKey,
    ) -> Result<(), PortError> {
        let mut state = self.state.lock().await;
        state.insert_session(session);
        state.audit.push(audit);
        state.login_throttle.remove(&key.0);
        Ok(())
    }
}
