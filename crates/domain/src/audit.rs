//! Security-relevant events, as written to the audit log.

use crate::{ClientInfo, Timestamp, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    UserRegistered,
    LoginSucceeded,
    LoginFailed,
    TokenRefreshed,
    RefreshReuseDetected,
    SessionRevoked,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    EmailVerified,
    MfaEnabled,
    MfaDisabled,
    AdminUserUpdated,
    ApiKeyCreated,
    ApiKeyRevoked,
    UserUpdated,
}

impl AuditKind {
    pub const ALL: [AuditKind; 16] = [
        AuditKind::UserRegistered,
        AuditKind::LoginSucceeded,
        AuditKind::LoginFailed,
        AuditKind::TokenRefreshed,
        AuditKind::RefreshReuseDetected,
        AuditKind::SessionRevoked,
        AuditKind::PasswordChanged,
        AuditKind::PasswordResetRequested,
        AuditKind::PasswordReset,
        AuditKind::EmailVerified,
        AuditKind::MfaEnabled,
        AuditKind::MfaDisabled,
        AuditKind::AdminUserUpdated,
        AuditKind::ApiKeyCreated,
        AuditKind::ApiKeyRevoked,
        AuditKind::UserUpdated,
    ];

    /// The stable name of the contract.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuditKind::UserRegistered => "user.registered",
            AuditKind::LoginSucceeded => "login.succeeded",
            AuditKind::LoginFailed => "login.failed",
            AuditKind::TokenRefreshed => "token.refreshed",
            AuditKind::RefreshReuseDetected => "refresh.reuse_detected",
            AuditKind::SessionRevoked => "session.revoked",
            AuditKind::PasswordChanged => "password.changed",
            AuditKind::PasswordResetRequested => "password.reset_requested",
            AuditKind::PasswordReset => "password.reset",
            AuditKind::EmailVerified => "email.verified",
            AuditKind::MfaEnabled => "mfa.enabled",
            AuditKind::MfaDisabled => "mfa.disabled",
            AuditKind::AdminUserUpdated => "admin.user_updated",
            AuditKind::ApiKeyCreated => "api_key.created",
            AuditKind::ApiKeyRevoked => "api_key.revoked",
            AuditKind::UserUpdated => "user.updated",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// One audit record. `detail` is a small JSON object; it must never hold a
/// secret (token, password, hash, code).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: uuid::Uuid,
    pub at: Timestamp,
    pub kind: AuditKind,
    pub user_id: Option<UserId>,
    pub client: ClientInfo,
    pub detail: serde_json::Value,
}

impl AuditEvent {
    pub fn new(
        kind: AuditKind,
        at: Timestamp,
        user_id: Option<UserId>,
        client: &ClientInfo,
    ) -> Self {
        let mut detail = serde_json::Map::new();
        if let Some(request_id) = &client.request_id {
            detail.insert("request_id".into(), request_id.clone().into());
        }
        if let Some(theirs) = &client.client_request_id {
            detail.insert("client_request_id".into(), theirs.clone().into());
        }
        Self {
            id: uuid::Uuid::now_v7(),
            at,
            kind,
            user_id,
            client: client.clone(),
            detail: serde_json::Value::Object(detail),
        }
    }

    /// Adds the fields of `detail` (an object) to the event's detail.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        match (self.detail.as_object_mut(), detail) {
            (Some(ours), serde_json::Value::Object(theirs)) => ours.extend(theirs),
            (_, other) => self.detail = other,
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AuditKind::parse("nope"), None);
    }
}
