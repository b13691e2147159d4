//! The outbox, in memory: claims and outcomes as the port contract says,
//! with the store's lock standing in for `FOR UPDATE SKIP LOCKED`.

use gatehouse_application::PortError;
use gatehouse_application::ports::{ClaimedMail, DeliveryOutcome, MailOutbox, OutgoingMail};
use gatehouse_domain::Timestamp;

use crate::MemoryStore;
use crate::store::State;

#[derive(Debug, Clone)]
pub(crate) struct OutboxRow {
    pub(crate) mail: OutgoingMail,
    /// Erased once the mail is sent or given up.
    pub(crate) body_kept: bool,
    next_attempt_at: Timestamp,
    attempts: u32,
    sent_at: Option<Timestamp>,
    failed_at: Option<Timestamp>,
}

/// A mail as the outbox holds it, for tests to inspect.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub mail: OutgoingMail,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub sent: bool,
    pub failed: bool,
    pub body_erased: bool,
}

impl State {
    pub(crate) fn enqueue(&mut self, mail: OutgoingMail) {
        self.outbox.push(OutboxRow {
            next_attempt_at: mail.queued_at,
            mail,
            body_kept: true,
            attempts: 0,
            sent_at: None,
            failed_at: None,
        });
    }
}

impl MemoryStore {
    /// Every mail ever queued, oldest first.
    pub async fn outbox(&self) -> Vec<QueuedMail> {
        self.state
            .lock()
            .await
            .outbox
            .iter()
            .map(|row| QueuedMail {
                mail: row.mail.clone(),
                attempts: row.attempts,
                next_attempt_at: row.next_attempt_at,
                sent: row.sent_at.is_some(),
                failed: row.failed_at.is_some(),
                body_erased: !row.body_kept,
            })
            .collect()
    }
}

impl MailOutbox for MemoryStore {
    async fn claim_due_mail(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedMail>, PortError> {
        let mut state = self.state.lock().await;
        let mut due: Vec<&mut OutboxRow> = state
            .outbox
            .iter_mut()
            .filter(|r| r.sent_at.is_none() && r.failed_at.is_none() && r.next_attempt_at <= now)
            .collect();
        due.sort_by_key(|r| (r.next_attempt_at, r.mail.id));
        Ok(due
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|row| {
                row.attempts += 1;
                row.next_attempt_at = lease_until;
                ClaimedMail {
                    mail: row.mail.clone(),
                    attempts: row.attempts,
                }
            })
            .collect())
    }

    async fn settle_mail(
        &self,
        claim: &ClaimedMail,
        outcome: DeliveryOutcome,
        at: Timestamp,
    ) -> Result<(), PortError> {
        let mut state = self.state.lock().await;
        let Some(row) = state
            .outbox
            .iter_mut()
            .find(|r| r.mail.id == claim.mail.id && r.attempts == claim.attempts && r.body_kept)
        else {
            return Ok(());
        };
        match outcome {
            DeliveryOutcome::Sent => row.sent_at = Some(at),
            DeliveryOutcome::Failed => row.failed_at = Some(at),
            DeliveryOutcome::RetryAt(next) => {
                row.next_attempt_at = next;
                return Ok(());
            }
        }
        row.body_kept = false;
        row.mail.sealed_body.clear();
        Ok(())
    }
}
