//! The retention rules of the contract, applied by a background task on
//! every instance: a rotated token's kept successor goes when its grace
//! ends and the token itself at its idle expiry, ended sessions a day
//! later, revoked or expired API keys after 30 days, spent or expired links after the hour
//! their limit counts, audit events after `AUTH_AUDIT_RETENTION_DAYS`, and
//! sent or given-up mail (with its address) after a day.

use std::time::Duration;

use tracing::instrument;

use crate::ports::{Clock, Housekeeping, PortError, Ports, Sweep, Swept};
use crate::use_cases::issue::sub;

#[derive(Debug)]
pub struct SweepExpiredData<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> SweepExpiredData<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// One pass: batches until nothing is left or the pass's budget is
    /// spent. Answers what it did.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached; what was swept
    /// before stays swept.
    #[instrument(skip_all)]
    pub async fn execute(&self) -> Result<Swept, PortError> {
        let policy = self.ports.policy();
        let retention = policy.retention;
        let mut total = Swept::default();
        for _ in 0..retention.max_batches.max(1) {
            let now = self.ports.clock().now();
            let before = |d: Duration| sub(now, d);
            let swept = self
                .ports
                .store()
                .sweep(Sweep {
                    grace_over_before: before(policy.refresh_reuse_grace),
                    rotated_expired_before: now,
                    sessions_ended_before: before(retention.ended_sessions),
                    links_made_before: before(Duration::from_secs(3_600)),
                    now,
                    audit_before: before(retention.audit_events),
                    mail_queued_before: before(retention.settled_mail),
                    throttles_idle_before: before(retention.ended_sessions),
                    keys_ended_before: before(retention.ended_api_keys),
                    batch: retention.batch,
                })
                .await?;
            total.add(swept);
            if !swept.any_full(retention.batch) {
                break;
            }
        }
        if total.total() > 0 {
            tracing::info!(?total, "swept expired data");
        }
        Ok(total)
    }
}
