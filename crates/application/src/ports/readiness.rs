use std::future::Future;

use super::PortError;

/// Whether the store can serve requests right now (for `/health/ready`).
pub trait Readiness: Send + Sync {
    /// # Errors
    /// `Unavailable` when the store does not answer in time.
    fn ready(&self) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// A store's connection pool at one moment (for `/metrics`), whichever the
/// store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolLoad {
    pub connections: u32,
    pub idle: u32,
}
