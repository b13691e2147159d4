//! Delivering what the outbox holds: one pass claims a batch of due mails,
//! tries each once and records the outcome. A failure is retried with
//! exponential backoff until the mail is a day old (`DeliveryPolicy`), then
//! given up and logged, with the address masked. Claims hold a lease, so
//! two senders never try one mail at once; a sender that dies mid-batch
//! only delays its mails until the lease ends.

use gatehouse_domain::{SecretString, Timestamp};
use tracing::instrument;

use crate::ports::{
    ClaimedMail, Clock, DataCipher, DeliveryOutcome, Mail, MailOutbox, Mailer, PortError, Ports,
    SealPurpose,
};
use crate::use_cases::issue::add;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

#[derive(Debug)]
pub struct DeliverMail<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> DeliverMail<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// One pass over the due mails.
    ///
    /// # Errors
    /// `Unavailable` when the outbox cannot be read or an outcome cannot be
    /// recorded; the mails of this pass are then claimed again once their
    /// lease ends.
    #[instrument(skip_all)]
    pub async fn execute(&self) -> Result<DeliveryReport, PortError> {
        let ports = self.ports;
        let policy = ports.policy().mail_delivery;
        let now = ports.clock().now();
        let claimed = ports
            .store()
            .claim_due_mail(now, add(now, policy.lease), policy.batch)
            .await?;
        let mut report = DeliveryReport {
            claimed: claimed.len(),
            ..DeliveryReport::default()
        };
        // No attempt starts in the second half of the lease: one that
        // outlived it could race another sender's claim of the same mail.
        // What is left is claimed again once the lease ends.
        let last_start = add(now, policy.lease / 2);
        for mail in claimed {
            if ports.clock().now() >= last_start {
                break;
            }
            let outcome = self.attempt(&mail).await;
            match outcome {
                DeliveryOutcome::Sent => report.sent += 1,
                DeliveryOutcome::RetryAt(_) => report.retried += 1,
                DeliveryOutcome::Failed => report.failed += 1,
            }
            let at = ports.clock().now();
            ports.store().settle_mail(&mail, outcome, at).await?;
        }
        Ok(report)
    }

    async fn attempt(&self, claimed: &ClaimedMail) -> DeliveryOutcome {
        let ports = self.ports;
        let queued = &claimed.mail;
        let to = queued.to.masked();
        let body = match ports.cipher().open(
            SealPurpose::MailBody,
            queued.id.as_bytes(),
            &queued.sealed_body,
        ) {
            Ok(body) => body,
            Err(error) => {
                // Sealed under another AUTH_DATA_KEY: no retry can help.
                tracing::error!(mail_id = %queued.id, %to, error = %error, "queued mail cannot be opened; given up");
                return DeliveryOutcome::Failed;
            }
        };
        let mail = Mail {
            to: queued.to.clone(),
            subject: queued.subject.clone(),
            body: SecretString::new(String::from_utf8_lossy(&body).into_owned()),
        };
        match ports.mailer().send(mail).await {
            Ok(()) => {
                tracing::info!(mail_id = %queued.id, %to, attempts = claimed.attempts, "mail sent");
                DeliveryOutcome::Sent
            }
            Err(error) => self.after_failure(claimed, ports.clock().now(), &error),
        }
    }

    fn after_failure(
        &self,
        claimed: &ClaimedMail,
        now: Timestamp,
        error: &PortError,
    ) -> DeliveryOutcome {
        let policy = self.ports.policy().mail_delivery;
        let queued = &claimed.mail;
        let to = queued.to.masked();
        let error = chain(error);
        let retry_at = add(now, policy.backoff(claimed.attempts));
        if retry_at >= add(queued.queued_at, policy.give_up_after) {
            tracing::error!(mail_id = %queued.id, %to, attempts = claimed.attempts, %error, "mail given up after retrying for a day");
            DeliveryOutcome::Failed
        } else {
            tracing::warn!(mail_id = %queued.id, %to, attempts = claimed.attempts, %error, %retry_at, "mail not sent; will retry");
            DeliveryOutcome::RetryAt(retry_at)
        }
    }
}

/// The error and its causes on one line. Transports describe failures
/// without addresses or server text, so this is safe to log.
fn chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}
