//! The small adapters that only the composition root needs.

use gatehouse_application::PortError;
use gatehouse_application::ports::{Clock, Mail, Mailer};
use gatehouse_domain::Timestamp;

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

/// Used while no SMTP transport is configured: records that a mail would
/// have gone out. The body can hold a single-use link, so it is not logged.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogMailer;

impl Mailer for LogMailer {
    async fn send(&self, mail: Mail) -> Result<(), PortError> {
        tracing::info!(to = %mail.to.masked(), subject = %mail.subject, "mail not sent: no SMTP transport configured");
        Ok(())
    }
}
