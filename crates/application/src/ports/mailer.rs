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

pub trait Mailer: Send + Sync {
    /// Hands the mail to the transport.
    ///
    /// # Errors
    /// `Unavailable` when the transport refuses or cannot be reached; use
    /// cases log it and go on, since a lost mail must not undo a revocation.
    fn send(&self, mail: Mail) -> impl Future<Output = Result<(), PortError>> + Send;
}
