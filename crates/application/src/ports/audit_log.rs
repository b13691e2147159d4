use std::future::Future;

use gatehouse_domain::AuditEvent;

use super::PortError;

/// Append-only security log.
pub trait AuditLog: Send + Sync {
    /// Appends one event. Events written inside a unit of work go through
    /// [`AuditTx::record`] instead, so they commit with it.
    ///
    /// # Errors
    /// `Unavailable` when the log cannot be reached.
    fn record(&self, event: AuditEvent) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// The audit writes a unit of work offers.
pub trait AuditTx: Send {
    /// Appends an audit event that commits or vanishes with the unit of work.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn record(&mut self, event: AuditEvent) -> impl Future<Output = Result<(), PortError>> + Send;
}
