//! Translating driver and pool failures into what use cases can act on:
//! anything that says "the database is not there right now" becomes
//! `Unavailable` (503, retry), the rest `Unexpected` (500).

use std::future::Future;
use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::PoolError;
use gatehouse_application::PortError;

pub(crate) fn from_diesel(error: DieselError) -> PortError {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | DieselError::BrokenTransactionManager => PortError::Unavailable(error.into()),
        // Postgres cancels queries on shutdown / admin action (57P01, 57014).
        DieselError::DatabaseError(_, ref info)
            if info.message().contains("terminating connection")
                || info.message().contains("canceling statement") =>
        {
            PortError::Unavailable(error.into())
        }
        other => PortError::Unexpected(other.into()),
    }
}

pub(crate) fn from_pool(error: bb8::RunError<PoolError>) -> PortError {
    PortError::Unavailable(anyhow::anyhow!("database pool: {error}"))
}

pub(crate) fn is_unique_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Bounds a database call: a hung server must turn into a fast 503, never
/// into a request that waits forever.
pub(crate) async fn bounded<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, PortError>>,
) -> Result<T, PortError> {
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
        Err(PortError::Unavailable(anyhow::anyhow!(
            "database call timed out after {limit:?}"
        )))
    })
}
