//! The sessions area: a signed-in user lists their live sessions and ends
//! one of them or all of them. A session is one refresh-token family;
//! ending it stops its refresh token at once and its access tokens at the
//! next call to `/v1/users/me` (`AUTH_TOKEN_REVOKED`).

mod list;
mod revoke;
mod revoke_all;

pub use list::{ListSessions, ListSessionsError, ListedSession};
pub use revoke::{RevokeSession, RevokeSessionError};
pub use revoke_all::{RevokeAllSessions, RevokeAllSessionsError};

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Timestamp, UserId};

use crate::ports::{RevokeReason, SessionRevocation};

/// The user ended it: `session.revoked` with the reason, per session.
fn by_user(user_id: UserId, at: Timestamp, client: &ClientInfo) -> SessionRevocation {
    let reason = RevokeReason::UserRevoked;
    SessionRevocation {
        user_id,
        at,
        reason,
        audit: AuditEvent::new(AuditKind::SessionRevoked, at, Some(user_id), client)
            .with_detail(serde_json::json!({ "reason": reason.as_str() })),
    }
}
