use std::collections::HashMap;
use std::sync::Arc;

use gatehouse_application::PortError;
use gatehouse_application::ports::{
    AuditLog, AuditTx, CreateUserError, NewSession, NewUser, OutboxTx, OutgoingMail,
    PasswordChange, RevokeReason, Rotation, RotationAttempt, RotationOutcome, SessionRevocation,
    SessionStore, SessionTx, SessionUser, SessionView, StoredToken, TokenDigest, Transactional,
    UnitOfWork, UserCredentials, UserStore,
};
use gatehouse_domain::{
    Amr, AuditEvent, ClientInfo, Email, PasswordHash, PresentedToken, SessionId, Timestamp, User,
    UserId,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::account_tokens::AccountTokenRow;
use crate::outbox::OutboxRow;

#[derive(Debug, Clone)]
pub(crate) struct SessionRow {
    user_id: UserId,
    created_at: Timestamp,
    pub(crate) expires_at: Timestamp,
    last_used_at: Timestamp,
    pub(crate) revoked_at: Option<Timestamp>,
    revoke_reason: Option<&'static str>,
    amr: Amr,
    client: ClientInfo,
}

#[derive(Debug, Clone)]
pub(crate) struct TokenRow {
    id: uuid::Uuid,
    pub(crate) session_id: SessionId,
    expires_at: Timestamp,
    pub(crate) rotated_at: Option<Timestamp>,
    pub(crate) sealed_successor: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    pub(crate) users: HashMap<UserId, (User, PasswordHash)>,
    pub(crate) sessions: HashMap<SessionId, SessionRow>,
    pub(crate) tokens: HashMap<TokenDigest, TokenRow>,
    pub(crate) audit: Vec<AuditEvent>,
    pub(crate) account_tokens: HashMap<TokenDigest, AccountTokenRow>,
    pub(crate) outbox: Vec<OutboxRow>,
    /// Key to (consecutive failures, locked until, last failure).
    pub(crate) login_throttle: HashMap<String, (u32, Option<Timestamp>, Timestamp)>,
    pub(crate) api_keys: Vec<crate::api_keys::ApiKeyRow>,
    pub(crate) mfa: HashMap<UserId, crate::mfa::MfaRow>,
}

impl State {
    fn stored_token(&self, digest: &TokenDigest) -> Option<StoredToken> {
        let token = self.tokens.get(digest)?;
        let session = self.sessions.get(&token.session_id)?;
        let (user, _) = self.users.get(&session.user_id)?;
        Some(StoredToken {
            token_id: token.id,
            session_id: token.session_id,
            user_id: user.id,
            email: user.email.clone(),
            role: user.role,
            user_disabled: user.disabled,
            amr: session.amr,
            sealed_successor: token.sealed_successor.clone(),
            facts: PresentedToken {
                expires_at: token.expires_at,
                rotated_at: token.rotated_at,
                successor_kept: token.sealed_successor.is_some(),
                session_expires_at: session.expires_at,
                session_revoked: session.revoked_at.is_some(),
            },
        })
    }

    fn apply(&mut self, rotation: Rotation) {
        if let Some(token) = self.tokens.values_mut().find(|t| t.id == rotation.token_id) {
            token.rotated_at = Some(rotation.at);
            token.sealed_successor = rotation.sealed_successor;
        }
        self.tokens.insert(
            rotation.successor.digest,
            TokenRow {
                id: rotation.successor.id,
                session_id: rotation.session_id,
                expires_at: rotation.successor.expires_at,
                rotated_at: None,
                sealed_successor: None,
            },
        );
        if let Some(session) = self.sessions.get_mut(&rotation.session_id) {
            session.last_used_at = rotation.at;
        }
        self.audit.push(rotation.audit);
    }

    pub(crate) fn insert_session(&mut self, session: NewSession) {
        self.tokens.insert(
            session.first_token.digest,
            TokenRow {
                id: session.first_token.id,
                session_id: session.id,
                expires_at: session.first_token.expires_at,
                rotated_at: None,
                sealed_successor: None,
            },
        );
        self.sessions.insert(
            session.id,
            SessionRow {
                user_id: session.user_id,
                created_at: session.created_at,
                expires_at: session.expires_at,
                last_used_at: session.created_at,
                revoked_at: None,
                revoke_reason: None,
                amr: session.amr,
                client: session.client,
            },
        );
    }
}

#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    pub(crate) state: Arc<Mutex<State>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every audit event committed so far, oldest first.
    pub async fn audit_events(&self) -> Vec<AuditEvent> {
        self.state.lock().await.audit.clone()
    }

    /// Why the session ended, if it did.
    pub async fn revoke_reason(&self, session_id: SessionId) -> Option<&'static str> {
        self.state
            .lock()
            .await
            .sessions
            .get(&session_id)
            .and_then(|s| s.revoke_reason)
    }

    pub async fn session_count(&self) -> usize {
        self.state.lock().await.sessions.len()
    }

    pub async fn token_count(&self) -> usize {
        self.state.lock().await.tokens.len()
    }

    pub async fn set_role(&self, user_id: UserId, role: gatehouse_domain::Role) {
        if let Some((user, _)) = self.state.lock().await.users.get_mut(&user_id) {
            user.role = role;
        }
    }

    pub async fn set_disabled(&self, user_id: UserId, disabled: bool) {
        if let Some((user, _)) = self.state.lock().await.users.get_mut(&user_id) {
            user.disabled = disabled;
        }
    }

    pub async fn password_hash(&self, user_id: UserId) -> Option<PasswordHash> {
        self.state
            .lock()
            .await
            .users
            .get(&user_id)
            .map(|(_, h)| h.clone())
    }

    pub async fn set_password_hash(&self, user_id: UserId, hash: PasswordHash) {
        if let Some((_, h)) = self.state.lock().await.users.get_mut(&user_id) {
            *h = hash;
        }
    }
}

impl UserStore for MemoryStore {
    async fn create_user(
        &self,
        user: NewUser,
        session: Option<NewSession>,
        audit: AuditEvent,
    ) -> Result<(), CreateUserError> {
        let mut state = self.state.lock().await;
        if state.users.values().any(|(u, _)| u.email == user.email) {
            return Err(CreateUserError::EmailTaken);
        }
        let record = User {
            id: user.id,
            email: user.email,
            role: user.role,
            email_verified: user.email_verified,
            mfa_enabled: false,
            disabled: false,
            created_at: user.created_at,
        };
        state.users.insert(user.id, (record, user.password_hash));
        if let Some(session) = session {
            state.insert_session(session);
        }
        if let Some(token) = user.verification {
            state.insert_account_token(user.id, token);
        }
        state.audit.push(audit);
        Ok(())
    }

    async fn find_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, PortError> {
        let state = self.state.lock().await;
        Ok(state
            .users
            .values()
            .find(|(u, _)| &u.email == email)
            .map(|(user, hash)| UserCredentials {
                user: user.clone(),
                password_hash: hash.clone(),
            }))
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, PortError> {
        Ok(self
            .state
            .lock()
            .await
            .users
            .get(&id)
            .map(|(u, _)| u.clone()))
    }

    async fn find_session_user(
        &self,
        user_id: UserId,
        session_id: SessionId,
        now: Timestamp,
    ) -> Result<Option<SessionUser>, PortError> {
        let state = self.state.lock().await;
        let Some((user, _)) = state.users.get(&user_id) else {
            return Ok(None);
        };
        let session_live = state
            .sessions
            .get(&session_id)
            .is_some_and(|s| s.user_id == user_id && s.revoked_at.is_none() && now < s.expires_at);
        Ok(Some(SessionUser {
            user: user.clone(),
            session_live,
        }))
    }

    async fn change_password(&self, change: PasswordChange) -> Result<bool, PortError> {
        let mut state = self.state.lock().await;
        match state.users.get_mut(&change.user_id) {
            Some((_, hash)) if *hash == change.old_hash => *hash = change.new_hash,
            _ => return Ok(false),
        }
        let revocation = SessionRevocation {
            user_id: change.user_id,
            at: change.at,
            reason: change.reason,
            audit: change.audit.clone(),
        };
        let others: Vec<SessionId> = state
            .sessions
            .iter()
            .filter(|(id, s)| s.user_id == change.user_id && Some(**id) != change.keep_session)
            .map(|(id, _)| *id)
            .collect();
        let ended = others
            .into_iter()
            .filter(|id| state.revoke(*id, &revocation))
            .count();
        state.record_with(&change.audit, "sessions_ended", ended.into());
        state.enqueue(change.notice);
        Ok(true)
    }

    async fn replace_password_hash(
        &self,
        id: UserId,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool, PortError> {
        let mut state = self.state.lock().await;
        match state.users.get_mut(&id) {
            Some((_, hash)) if hash == old => {
                *hash = new.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl AuditLog for MemoryStore {
    async fn record(&self, event: AuditEvent) -> Result<(), PortError> {
        self.state.lock().await.audit.push(event);
        Ok(())
    }
}

impl State {
    /// Ends the session if it is live; answers whether it did.
    pub(crate) fn revoke(&mut self, id: SessionId, revocation: &SessionRevocation) -> bool {
        let Some(session) = self.sessions.get_mut(&id) else {
            return false;
        };
        if session.revoked_at.is_some() {
            return false;
        }
        session.revoked_at = Some(revocation.at);
        session.revoke_reason = Some(revocation.reason.as_str());
        self.erase_kept_successors(id);
        true
    }

    pub(crate) fn sessions_of(&self, user_id: UserId) -> Vec<SessionId> {
        let mut ids: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.user_id == user_id)
            .map(|(id, _)| *id)
            .collect();
        ids.sort();
        ids
    }

    /// A revoked family answers no replay: its kept successors go.
    fn erase_kept_successors(&mut self, session_id: SessionId) {
        for token in self.tokens.values_mut() {
            if token.session_id == session_id {
                token.sealed_successor = None;
            }
        }
    }

    pub(crate) fn record_with(&mut self, audit: &AuditEvent, key: &str, value: serde_json::Value) {
        let mut event = audit.clone();
        if let Some(detail) = event.detail.as_object_mut() {
            detail.insert(key.into(), value);
        }
        self.audit.push(event);
    }
}

impl SessionStore for MemoryStore {
    async fn live_sessions(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> Result<Vec<SessionView>, PortError> {
        let state = self.state.lock().await;
        let mut live: Vec<SessionView> = state
            .sessions
            .iter()
            .filter(|(_, s)| s.user_id == user_id && s.revoked_at.is_none() && now < s.expires_at)
            .map(|(id, s)| SessionView {
                id: *id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                expires_at: s.expires_at,
                ip: s.client.ip.clone(),
                user_agent: s.client.user_agent.clone(),
            })
            .collect();
        live.sort_by(|a, b| b.last_used_at.cmp(&a.last_used_at).then(b.id.cmp(&a.id)));
        Ok(live)
    }

    async fn revoke_own_session(
        &self,
        session_id: SessionId,
        revocation: SessionRevocation,
    ) -> Result<bool, PortError> {
        let mut state = self.state.lock().await;
        let owned = state
            .sessions
            .get(&session_id)
            .is_some_and(|s| s.user_id == revocation.user_id);
        if owned && state.revoke(session_id, &revocation) {
            state.record_with(
                &revocation.audit,
                "session_id",
                session_id.to_string().into(),
            );
        }
        Ok(owned)
    }

    async fn revoke_all_sessions(&self, revocation: SessionRevocation) -> Result<u64, PortError> {
        let mut state = self.state.lock().await;
        let mine: Vec<SessionId> = state
            .sessions
            .iter()
            .filter(|(_, s)| s.user_id == revocation.user_id)
            .map(|(id, _)| *id)
            .collect();
        let ended: Vec<serde_json::Value> = mine
            .into_iter()
            .filter(|id| state.revoke(*id, &revocation))
            .map(|id| id.to_string().into())
            .collect();
        let count = ended.len() as u64;
        if count > 0 {
            state.record_with(&revocation.audit, "session_ids", ended.into());
        }
        Ok(count)
    }

    async fn start_session(&self, session: NewSession, audit: AuditEvent) -> Result<(), PortError> {
        let mut state = self.state.lock().await;
        state.insert_session(session);
        state.audit.push(audit);
        Ok(())
    }

    async fn rotate_if_current(
        &self,
        attempt: RotationAttempt,
    ) -> Result<RotationOutcome, PortError> {
        let mut state = self.state.lock().await;
        let Some(token) = state.stored_token(&attempt.digest) else {
            return Ok(RotationOutcome::Unknown);
        };
        let at = attempt.at;
        let current = token.facts.rotated_at.is_none()
            && at < token.facts.expires_at
            && !token.facts.session_revoked
            && at < token.facts.session_expires_at
            && !token.user_disabled;
        if !current {
            return Ok(RotationOutcome::Declined(token));
        }
        let mut successor = attempt.successor;
        successor.expires_at = successor.expires_at.min(token.facts.session_expires_at);
        let mut audit = attempt.audit;
        audit.user_id = Some(token.user_id);
        if let Some(detail) = audit.detail.as_object_mut() {
            detail.insert("session_id".into(), token.session_id.to_string().into());
        }
        state.apply(Rotation {
            token_id: token.token_id,
            session_id: token.session_id,
            at,
            sealed_successor: attempt.sealed_successor,
            successor,
            audit,
        });
        Ok(RotationOutcome::Rotated(token))
    }
}

impl Transactional for MemoryStore {
    type Tx = MemoryTx;

    async fn begin(&self) -> Result<MemoryTx, PortError> {
        let guard = Arc::clone(&self.state).lock_owned().await;
        let work = guard.clone();
        Ok(MemoryTx { guard, work })
    }
}

/// Holds the whole store's lock and edits a copy; dropping it discards the copy.
#[derive(Debug)]
pub struct MemoryTx {
    guard: OwnedMutexGuard<State>,
    work: State,
}

impl SessionTx for MemoryTx {
    async fn lock_token(&mut self, digest: &TokenDigest) -> Result<Option<StoredToken>, PortError> {
        Ok(self.work.stored_token(digest))
    }

    async fn rotate(&mut self, rotation: Rotation) -> Result<(), PortError> {
        self.work.apply(rotation);
        Ok(())
    }

    async fn revoke_session(
        &mut self,
        session_id: SessionId,
        at: Timestamp,
        reason: RevokeReason,
    ) -> Result<(), PortError> {
        if let Some(session) = self.work.sessions.get_mut(&session_id)
            && session.revoked_at.is_none()
        {
            session.revoked_at = Some(at);
            session.revoke_reason = Some(reason.as_str());
            self.work.erase_kept_successors(session_id);
        }
        Ok(())
    }
}

impl AuditTx for MemoryTx {
    async fn record(&mut self, event: AuditEvent) -> Result<(), PortError> {
        self.work.audit.push(event);
        Ok(())
    }
}

impl OutboxTx for MemoryTx {
    async fn enqueue(&mut self, mail: OutgoingMail) -> Result<(), PortError> {
        self.work.enqueue(mail);
        Ok(())
    }
}

impl UnitOfWork for MemoryTx {
    async fn commit(mut self) -> Result<(), PortError> {
        *self.guard = std::mem::take(&mut self.work);
        Ok(())
    }

    async fn rollback(self) -> Result<(), PortError> {
        Ok(())
    }
}

impl gatehouse_application::ports::Readiness for MemoryStore {
    async fn ready(&self) -> Result<(), PortError> {
        Ok(())
    }
}
