use std::future::Future;

use gatehouse_domain::{Email, SecretString};

use super::PortError;

/// A message to one user. The body may carry a single-use link, so it is
/// kept as a secret and never logged by adapters.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Email,
    pub subject: String,
    pub body: SecretString,
}

/// The transport that delivers mail (SMTP, or files for development).
/// Only the outbox sender calls it: use cases queue mail instead, so that
/// no request waits for it.
pub trait Mailer: Send + Sync {
    /// Delivers the mail now.
    ///
    /// # Errors
    /// `Unavailable` when the transport refuses or cannot be reached; the
    /// sender tries again later.
    fn send(&self, mail: Mail) -> impl Future<Output = Result<(), PortError>> + Send;
}
