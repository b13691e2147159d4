use std::future::Future;

use gatehouse_domain::AuditEvent;

use super::PortError;

/// Append-only security log.
pub trait AuditLog: Send + Sync {
    /// Appends one event. Events written inside a unit of work go through
    /// [`super::RefreshTx::record`] instead, so they commit with it.
    ///
    /// # Errors
    /// `Unavailable` when the log cannot be reached.
    fn record(&self, event: AuditEvent) -> impl Future<Output = Result<(), PortError>> + Send;
}
