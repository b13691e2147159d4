//! Refresh-token rotation with reuse detection. The whole decision happens
//! inside one unit of work holding the token's row lock, so concurrent
//! presentations of one token are serialised and the family never forks.

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Presentation, SecretString};
use tracing::instrument;

use super::from_port_error;
use super::issue::{self, TokenPair};
use crate::ports::{
    Clock, LockedToken, Mail, Mailer, OpaqueTokens, Ports, RefreshTx, RevokeReason, Rotation,
    SessionStore,
};

#[derive(Debug, thiserror::Error)]
pub enum RotateRefreshTokenError {
    /// Unknown, expired, revoked, or belonging to a disabled account.
    #[error("refresh token invalid")]
    Invalid,
    /// A rotated token came back after its grace: the family is now revoked.
    #[error("refresh token reused")]
    Reused,
    #[error("store unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(anyhow::Error),
}
from_port_error!(RotateRefreshTokenError);

#[derive(Debug)]
pub struct RotateRefreshToken<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> RotateRefreshToken<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id))]
    pub async fn execute(
        &self,
        presented: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, RotateRefreshTokenError> {
        use RotateRefreshTokenError as E;
        let ports = self.ports;
        if !ports.opaque().is_well_formed(presented) {
            return Err(E::Invalid);
        }
        let digest = ports.opaque().digest(presented);

        let mut tx = ports.store().begin().await?;
        let Some(token) = tx.lock_token(&digest).await? else {
            tx.commit().await?;
            return Err(E::Invalid);
        };
        tracing::Span::current().record("user_id", tracing::field::display(token.user_id));
        let now = ports.clock().now();
        let decision = if token.user_disabled {
            Presentation::Revoked
        } else {
            token
                .facts
                .classify(now, ports.policy().refresh_reuse_grace)
        };

        let refresh_token = match decision {
            Presentation::Rotate => {
                let (successor, record) =
                    issue::new_refresh_token(ports, now, token.facts.session_expires_at)?;
                let sealed_successor = if ports.policy().refresh_reuse_grace.is_zero() {
                    None
                } else {
                    Some(ports.opaque().seal(presented, &successor)?)
                };
                let audit =
                    AuditEvent::new(AuditKind::TokenRefreshed, now, Some(token.user_id), client)
                        .with_detail(
                            serde_json::json!({ "session_id": token.session_id.to_string() }),
                        );
                tx.rotate(Rotation {
                    token_id: token.token_id,
                    session_id: token.session_id,
                    at: now,
                    sealed_successor,
                    successor: record,
                    audit,
                })
                .await?;
                tx.commit().await?;
                successor
            }
            Presentation::GraceReplay => {
                let successor = token
                    .sealed_successor
                    .as_deref()
                    .and_then(|sealed| ports.opaque().open(presented, sealed));
                tx.commit().await?;
                successor.ok_or(E::Invalid)?
            }
            Presentation::Reuse if token.facts.session_revoked => {
                // Already revoked (by an earlier reuse, or a logout): same
                // answer, but no second alarm.
                tx.commit().await?;
                return Err(E::Reused);
            }
            Presentation::Reuse => {
                tx.revoke_session(token.session_id, now, RevokeReason::ReuseDetected)
                    .await?;
                let audit = AuditEvent::new(
                    AuditKind::RefreshReuseDetected,
                    now,
                    Some(token.user_id),
                    client,
                )
                .with_detail(serde_json::json!({ "session_id": token.session_id.to_string() }));
                tx.record(audit).await?;
                tx.commit().await?;
                tracing::warn!(session_id = %token.session_id, "refresh token reuse detected; session revoked");
                self.alert(&token).await;
                return Err(E::Reused);
            }
            Presentation::Expired | Presentation::Revoked => {
                tx.commit().await?;
                return Err(E::Invalid);
            }
        };

        let access_token = issue::access_token(
            ports,
            token.user_id,
            token.session_id,
            token.role,
            token.amr.clone(),
            now,
        )?;
        Ok(issue::pair(ports, access_token, refresh_token))
    }

    /// Best effort: the revocation already committed and stands either way.
    async fn alert(&self, token: &LockedToken) {
        let mail = Mail {
            to: token.email.clone(),
            subject: "Security alert: a session was ended".to_owned(),
            body: SecretString::new(
                "A sign-in token of your account was used twice, which can mean it was copied. \
                 We ended that session; sign in again. If this keeps happening, change your password.",
            ),
        };
        if let Err(error) = self.ports.mailer().send(mail).await {
            tracing::warn!(error = %error, "security alert mail not sent");
        }
    }
}
