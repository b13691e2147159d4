use gatehouse_domain::{AuditEvent, AuditKind, Timestamp, UserId};
use tracing::instrument;

use super::{AdminError, MAX_PAGE, admin};
use crate::ports::{AccessClaims, AdminStore, AuditQuery, Ports};

/// Audit events newest first, and the position the next page starts from.
#[derive(Debug)]
pub struct AuditPage {
    pub items: Vec<AuditEvent>,
    pub next_before: Option<(Timestamp, uuid::Uuid)>,
}

#[derive(Debug)]
pub struct ListAuditEvents<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> ListAuditEvents<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    #[instrument(skip_all, fields(user_id = %claims.user_id))]
    pub async fn execute(
        &self,
        claims: &AccessClaims,
        user_id: Option<UserId>,
        kind: Option<AuditKind>,
        before: Option<(Timestamp, uuid::Uuid)>,
        limit: u32,
    ) -> Result<AuditPage, AdminError> {
        admin(self.ports, claims).await?;
        let limit = limit.clamp(1, MAX_PAGE);
        let mut items = self
            .ports
            .store()
            .audit_events(AuditQuery {
                user_id,
                kind,
                before,
                limit: limit + 1,
            })
            .await?;
        let next_before = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|e| (e.at, e.id))
        } else {
            None
        };
        Ok(AuditPage { items, next_before })
    }
}
