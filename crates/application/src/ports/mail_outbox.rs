//! The durable outbox: a mail is written in the transaction of the change
//! it reports, and delivered later by a sender task on any instance. So a
//! change that rolls back sends nothing, a change that commits is never
//! left unmailed, and no request waits for SMTP.

use std::future::Future;

use gatehouse_domain::{Email, Timestamp};

use super::PortError;

/// A mail as queued. The body is sealed with the [`super::DataCipher`]
/// (under the mail's id), since it may carry a single-use link: the outbox
/// holds nothing a reader of the database could use.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub id: uuid::Uuid,
    pub to: Email,
    pub subject: String,
    pub sealed_body: Vec<u8>,
    pub queued_at: Timestamp,
}

/// A mail taken for one delivery attempt.
#[derive(Debug, Clone)]
pub struct ClaimedMail {
    pub mail: OutgoingMail,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// Where a claimed mail goes after its attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Sent,
    /// Claimable again from this instant.
    RetryAt(Timestamp),
    /// Given up: it will not be tried again.
    Failed,
}

pub trait MailOutbox: Send + Sync {
    /// Claims up to `limit` mails due at `now` (neither sent nor given up,
    /// next attempt not in the future), longest due first, and holds each until
    /// `lease_until`: until then no other caller, on any instance, claims
    /// it. A sender that dies mid-attempt thus delays the mail, never loses
    /// it. Each claim counts as an attempt.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn claim_due_mail(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ClaimedMail>, PortError>> + Send;

    /// Records the outcome of the attempt `claim` made. `Sent` and
    /// `Failed` erase the sealed body: it is not needed any more. Nothing
    /// happens if the mail was claimed again since (its lease ran out):
    /// the later claim decides.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached; the mail is then
    /// claimed again once its lease ends.
    fn settle_mail(
        &self,
        claim: &ClaimedMail,
        outcome: DeliveryOutcome,
        at: Timestamp,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// The outbox write a unit of work offers.
pub trait OutboxTx: Send {
    /// Queues `mail`, due at once; it exists exactly if the unit of work commits.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn enqueue(&mut self, mail: OutgoingMail)
    -> impl Future<Output = Result<(), PortError>> + Send;
}
