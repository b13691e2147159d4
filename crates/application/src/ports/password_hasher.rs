use std::future::Future;
use std::time::Duration;

use gatehouse_domain::{Password, PasswordHash};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    Match { needs_rehash: bool },
    Mismatch,
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing slot stayed busy for the bounded wait.
    #[error("password hashing is saturated")]
    Overloaded { retry_after: Duration },
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

/// Slow, memory-hard password hashing. Implementations must not run the
/// hash on the caller's executor thread and must bound how many run at once.
pub trait PasswordHasher: Send + Sync {
    /// # Errors
    /// `Overloaded` when no hashing slot frees up within the bounded wait.
    fn hash(
        &self,
        password: Password,
    ) -> impl Future<Output = Result<PasswordHash, HashError>> + Send;

    /// Checks `password` against `hash`. With `None` (unknown account) it
    /// MUST do the same work against a dummy hash and answer `Mismatch`, so
    /// that timing does not tell whether an account exists. `needs_rehash`
    /// is set when the hash was made with other parameters or algorithm.
    ///
    /// # Errors
    /// `Overloaded` as for `hash`.
    fn verify(
        &self,
        password: Password,
        hash: Option<PasswordHash>,
    ) -> impl Future<Output = Result<Verified, HashError>> + Send;
}
