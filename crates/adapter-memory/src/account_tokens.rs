//! Reset and verification tokens, in memory, with the port's atomicity:
//! each method runs under the store's one lock.

use gatehouse_application::PortError;
use gatehouse_application::ports::{
    AccountTokenStore, EmailVerification, MailedToken, PasswordReset, ResetRequest, RevokeReason,
    SessionRevocation, Throttle, TokenDigest, TokenPurpose, VerificationRequest,
};
use gatehouse_domain::{Timestamp, User, UserId};

use crate::MemoryStore;
use crate::store::State;

#[derive(Debug, Clone)]
pub(crate) struct AccountTokenRow {
    purpose: TokenPurpose,
    user_id: UserId,
    pub(crate) created_at: Timestamp,
    pub(crate) expires_at: Timestamp,
    pub(crate) used_at: Option<Timestamp>,
}

impl State {
    pub(crate) fn insert_account_token(&mut self, user_id: UserId, token: MailedToken) {
        self.account_tokens.insert(
            token.digest,
            AccountTokenRow {
                purpose: token.purpose,
                user_id,
                created_at: token.created_at,
                expires_at: token.expires_at,
                used_at: None,
            },
        );
        self.enqueue(token.mail);
    }

    fn throttled(&self, user_id: UserId, purpose: TokenPurpose, throttle: Throttle) -> bool {
        let recent = self
            .account_tokens
            .values()
            .filter(|t| t.user_id == user_id && t.purpose == purpose)
            .filter(|t| t.created_at > throttle.since)
            .count();
        recent >= usize::try_from(throttle.max).unwrap_or(usize::MAX)
    }

    /// Spends the token and its user's other tokens of the purpose, if it
    /// is live at `at` and its user `may`; answers its user.
    fn spend(
        &mut self,
        digest: &TokenDigest,
        purpose: TokenPurpose,
        at: Timestamp,
        may: impl Fn(&User) -> bool,
    ) -> Option<UserId> {
        let token = self.account_tokens.get(digest)?;
        if token.purpose != purpose || token.used_at.is_some() || at >= token.expires_at {
            return None;
        }
        let user_id = token.user_id;
        if !self.users.get(&user_id).is_some_and(|(u, _)| may(u)) {
            return None;
        }
        for t in self.account_tokens.values_mut() {
            if t.user_id == user_id && t.purpose == purpose && t.used_at.is_none() {
                t.used_at = Some(at);
            }
        }
        Some(user_id)
    }
}

impl MemoryStore {
    /// How many tokens of `purpose` the user has, spent or not.
    pub async fn account_token_count(&self, user_id: UserId, purpose: TokenPurpose) -> usize {
        self.state
            .lock()
            .await
            .account_tokens
            .values()
            .filter(|t| t.user_id == user_id && t.purpose == purpose)
            .count()
    }
}

impl AccountTokenStore for MemoryStore {
    async fn request_password_reset(&self, request: ResetRequest) -> Result<bool, PortError> {
        let mut state = self.state.lock().await;
        let user_id = state
            .users
            .values()
            .find(|(u, _)| u.email == request.email && !u.disabled)
            .map(|(u, _)| u.id)
            .filter(|id| !state.throttled(*id, TokenPurpose::PasswordReset, request.throttle));
        if let Some(user_id) = user_id {
            state.insert_account_token(user_id, request.token);
        }
        // Recorded whatever the outcome, as the port says.
        let mut audit = request.audit;
        audit.user_id = user_id;
        if let Some(detail) = audit.detail.as_object_mut() {
            detail.insert("mailed".into(), user_id.is_some().into());
        }
        state.audit.push(audit);
        Ok(user_id.is_some())
    }

    async fn request_verification(&self, request: VerificationRequest) -> Result<bool, PortError> {
        let mut state = self.state.lock().await;
        let verified = match state.users.get(&request.user_id) {
            Some((user, _)) => user.email_verified,
            None => return Ok(false),
        };
        if verified
            || state.throttled(
                request.user_id,
                TokenPurpose::EmailVerification,
                request.throttle,
            )
        {
            return Ok(false);
        }
        state.insert_account_token(request.user_id, request.token);
        Ok(true)
    }

    async fn find_token_user(
        &self,
        digest: &TokenDigest,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<Option<User>, PortError> {
        let state = self.state.lock().await;
        Ok(state
            .account_tokens
            .get(digest)
            .filter(|t| t.purpose == purpose && t.used_at.is_none() && now < t.expires_at)
            .and_then(|t| state.users.get(&t.user_id))
            .map(|(u, _)| u.clone()))
    }

    async fn reset_password(&self, reset: PasswordReset) -> Result<Option<UserId>, PortError> {
        let mut state = self.state.lock().await;
        let spent = state.spend(&reset.digest, TokenPurpose::PasswordReset, reset.at, |u| {
            !u.disabled
        });
        let Some(user_id) = spent else {
            return Ok(None);
        };
        if let Some((user, hash)) = state.users.get_mut(&user_id) {
            *hash = reset.new_hash;
            user.email_verified = true;
        }
        state.revoke_api_keys(user_id, reset.at);
        let mut audit = reset.audit;
        audit.user_id = Some(user_id);
        let revocation = SessionRevocation {
            user_id,
            at: reset.at,
            reason: RevokeReason::PasswordReset,
            audit: audit.clone(),
        };
        let mine: Vec<_> = state.sessions_of(user_id);
        let ended = mine
            .into_iter()
            .filter(|id| state.revoke(*id, &revocation))
            .count();
        state.record_with(&audit, "sessions_ended", ended.into());
        Ok(Some(user_id))
    }

    async fn verify_email(
        &self,
        verification: EmailVerification,
    ) -> Result<Option<UserId>, PortError> {
        let mut state = self.state.lock().await;
        let Some(user_id) = state.spend(
            &verification.digest,
            TokenPurpose::EmailVerification,
            verification.at,
            |_| true,
        ) else {
            return Ok(None);
        };
        if let Some((user, _)) = state.users.get_mut(&user_id) {
            user.email_verified = true;
        }
        let mut audit = verification.audit;
        audit.user_id = Some(user_id);
        state.audit.push(audit);
        Ok(Some(user_id))
    }
}
