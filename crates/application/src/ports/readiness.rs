use std::future::Future;

use super::PortError;

/// Whether the store can serve requests right now (for `/health/ready`).
pub trait Readiness: Send + Sync {
    /// # Errors
    /// `Unavailable` when the store does not answer in time.
    fn ready(&self) -> impl Future<Output = Result<(), PortError>> + Send;
}
