//! Refresh-token rotation with reuse detection.
//!
//! The common case, a family's current token, is one atomic step of the
//! store (`rotate_if_current`): one round trip. When the store declines,
//! the domain rule decides from what it read. A retry within the grace, an
//! expired or revoked token, or an unknown one is answered from that read
//! alone, with no lock. Only a decision that changes state (reuse revokes
//! the family) or a read that raced a concurrent rotation goes on to a unit
//! of work holding the token's row lock, where the rule decides again. So
//! concurrent presentations of one token are serialised and the family
//! never forks.

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Presentation, SecretString, Timestamp};
use tracing::instrument;

use super::issue::{self, TokenPair};
use super::mail::{letters, outgoing};
use crate::ports::{
    AuditTx, Clock, OpaqueTokens, OutboxTx, PortError, Ports, RevokeReason, Rotation,
    RotationAttempt, RotationOutcome, SessionStore, SessionTx, StoredToken, TokenDigest,
    Transactional, UnitOfWork,
};

#[derive(Debug, thiserror::Error)]
pub enum RotateRefreshTokenError {
    /// Unknown, expired, revoked, or belonging to a disabled account.
    #[error("refresh token invalid")]
    Invalid,
    /// A rotated token came back after its grace: the family is now revoked.
    #[error("refresh token reused")]
    Reused,
    #[error(transparent)]
    Port(#[from] PortError),
}

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
        let now = ports.clock().now();

        // The store caps the successor's expiry at the session's end.
        let (successor, record) =
            issue::new_refresh_token(ports, now, chrono::DateTime::<chrono::Utc>::MAX_UTC)?;
        let attempt = RotationAttempt {
            digest: digest.clone(),
            at: now,
            sealed_successor: self.seal(presented, &successor)?,
            successor: record,
            // A row per refresh, kept for the audit retention, is a row per
            // access-token lifetime of every session: only when asked for.
            audit: ports
                .policy()
                .audit_refreshes
                .then(|| AuditEvent::new(AuditKind::TokenRefreshed, now, None, client)),
        };
        let token = match ports.store().rotate_if_current(attempt).await? {
            RotationOutcome::Rotated(token) => {
                record_user(&token);
                return self.pair(&token, now, successor);
            }
            RotationOutcome::Unknown => return Err(E::Invalid),
            RotationOutcome::Declined(token) => token,
        };
        record_user(&token);
        match self.classify(&token, now) {
            Presentation::GraceReplay => self.replay(presented, &token, now),
            Presentation::Expired | Presentation::Revoked => Err(E::Invalid),
            // Already revoked (by an earlier reuse, or a logout): same
            // answer, but no second alarm, and nothing to lock.
            Presentation::Reuse if token.presented.session_revoked => Err(E::Reused),
            // Reuse changes state; Rotate here means the read raced a
            // concurrent rotation. Either way, decide again under the lock.
            Presentation::Reuse | Presentation::Rotate => {
                self.under_lock(presented, &digest, client).await
            }
        }
    }

    /// The slow path: the token's row locked for the whole decision, and
    /// one commit point. Any error before it drops the unit of work, which
    /// rolls back.
    async fn under_lock(
        &self,
        presented: &str,
        digest: &TokenDigest,
        client: &ClientInfo,
    ) -> Result<TokenPair, RotateRefreshTokenError> {
        use RotateRefreshTokenError as E;
        let mut decided_again = false;
        let (settled, now) = loop {
            let mut tx = self.ports.store().begin().await?;
            let now = self.ports.clock().now();
            let settled = self.settle(&mut tx, presented, digest, client, now).await?;
            match tx.commit().await {
                Ok(()) => break (settled, now),
                // The family's one-live-token rule refused the commit: a
                // concurrent rotation won. Decide again on what it left.
                Err(PortError::Conflict(e)) if !decided_again => {
                    tracing::debug!(error = %e, "rotation conflicted at commit; deciding again");
                    decided_again = true;
                }
                Err(e) => return Err(e.into()),
            }
        };
        match settled {
            Decision::Rotated(token, successor) => self.pair(&token, now, successor),
            Decision::Replay(token) => self.replay(presented, &token, now),
            Decision::ReuseDetected(token) => {
                tracing::warn!(session_id = %token.session_id, "refresh token reuse detected; session revoked");
                Err(E::Reused)
            }
            Decision::Reused => Err(E::Reused),
            Decision::Invalid => Err(E::Invalid),
        }
    }

    /// Decides under the lock and writes what the decision needs.
    async fn settle(
        &self,
        tx: &mut <P::Store as Transactional>::Tx,
        presented: &str,
        digest: &TokenDigest,
        client: &ClientInfo,
        now: Timestamp,
    ) -> Result<Decision, RotateRefreshTokenError> {
        let Some(token) = tx.lock_token(digest).await? else {
            return Ok(Decision::Invalid);
        };
        Ok(match self.classify(&token, now) {
            Presentation::Rotate => {
                let (successor, record) =
                    issue::new_refresh_token(self.ports, now, token.presented.session_expires_at)?;
                tx.rotate(Rotation {
                    token_id: token.token_id,
                    session_id: token.session_id,
                    at: now,
                    sealed_successor: self.seal(presented, &successor)?,
                    successor: record,
                    audit: self
                        .ports
                        .policy()
                        .audit_refreshes
                        .then(|| refreshed(&token, now, client)),
                })
                .await?;
                Decision::Rotated(token, successor)
            }
            Presentation::GraceReplay => Decision::Replay(token),
            Presentation::Reuse if token.presented.session_revoked => Decision::Reused,
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
                // Queued in the same unit of work: the alert exists exactly
                // when the revocation does.
                tx.enqueue(outgoing(
                    self.ports,
                    &token.email,
                    letters::reuse_alert(now, client),
                    now,
                )?)
                .await?;
                Decision::ReuseDetected(token)
            }
            Presentation::Expired | Presentation::Revoked => Decision::Invalid,
        })
    }

    fn classify(&self, token: &StoredToken, now: Timestamp) -> Presentation {
        if token.user_disabled {
            Presentation::Revoked
        } else {
            token
                .presented
                .classify(now, self.ports.policy().refresh_reuse_grace)
        }
    }

    /// With a grace of zero there are no retries to answer, so nothing is kept.
    fn seal(
        &self,
        presented: &str,
        successor: &SecretString,
    ) -> Result<Option<Vec<u8>>, RotateRefreshTokenError> {
        if self.ports.policy().refresh_reuse_grace.is_zero() {
            return Ok(None);
        }
        Ok(Some(self.ports.opaque().seal(presented, successor)?))
    }

    /// A retry within the grace gets the successor the first request got.
    fn replay(
        &self,
        presented: &str,
        token: &StoredToken,
        now: Timestamp,
    ) -> Result<TokenPair, RotateRefreshTokenError> {
        let successor = token
            .sealed_successor
            .as_deref()
            .and_then(|sealed| self.ports.opaque().open(presented, sealed))
            .ok_or(RotateRefreshTokenError::Invalid)?;
        self.pair(token, now, successor)
    }

    fn pair(
        &self,
        token: &StoredToken,
        now: Timestamp,
        refresh_token: SecretString,
    ) -> Result<TokenPair, RotateRefreshTokenError> {
        let facts = issue::SessionFacts {
            session_id: token.session_id,
            role: token.role,
            amr: token.amr,
            auth_time: token.auth_time,
        };
        let access_token = issue::access_token(self.ports, token.user_id, facts, now)?;
        Ok(issue::pair(self.ports, access_token, refresh_token))
    }
}

/// What the locked decision came to, acted on once the unit of work committed.
#[derive(Debug)]
enum Decision {
    Rotated(StoredToken, SecretString),
    Replay(StoredToken),
    /// The family was revoked just now: raise the alarm.
    ReuseDetected(StoredToken),
    /// Reuse within an already revoked family: no second alarm.
    Reused,
    Invalid,
}

fn record_user(token: &StoredToken) {
    tracing::Span::current().record("user_id", tracing::field::display(token.user_id));
}

fn refreshed(token: &StoredToken, now: Timestamp, client: &ClientInfo) -> AuditEvent {
    AuditEvent::new(AuditKind::TokenRefreshed, now, Some(token.user_id), client)
        .with_detail(serde_json::json!({ "session_id": token.session_id.to_string() }))
}
