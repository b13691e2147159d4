//! What SQLite's and the pool's failures mean to a caller.

use std::future::Future;
use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::PoolError;
use gatehouse_application::PortError;

/// A store call's failure, before it becomes a [`PortError`]: methods that
/// turn a constraint into an answer (`EmailTaken`) look at `Db` first.
#[derive(Debug)]
pub(crate) enum Failed {
    Db(DieselError),
    Port(PortError),
}

impl Failed {
    pub(crate) fn into_port(self) -> PortError {
        match self {
            Failed::Db(error) => from_diesel(error),
            Failed::Port(error) => error,
        }
    }

    /// Whether the write broke the unique constraint on `column`
    /// (`table.column`, as SQLite names it).
    pub(crate) fn is_unique_violation(&self, column: &str) -> bool {
        matches!(self, Failed::Db(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
            if info.message().contains(column))
    }
}

pub(crate) fn from_diesel(error: DieselError) -> PortError {
    match &error {
        // SQLITE_BUSY (the write lock stayed taken past busy_timeout) and
        // a file that cannot be opened: retrying later is all one can do.
        DieselError::DatabaseError(_, info)
            if ["database is locked", "database is busy", "unable to open"]
                .iter()
                .any(|m| info.message().contains(m)) =>
        {
            PortError::Unavailable(error.into())
        }
        DieselError::BrokenTransactionManager => PortError::Unavailable(error.into()),
        _ => PortError::Unexpected(error.into()),
    }
}

pub(crate) fn from_pool(error: bb8::RunError<PoolError>) -> Failed {
    Failed::Port(PortError::Unavailable(anyhow::anyhow!(
        "no SQLite connection: {error}"
    )))
}

/// Bounds a store call: past `limit` the caller gets `Unavailable` (and
/// the call finishes on the store's runtime).
pub(crate) async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, Failed>>,
) -> Result<T, Failed> {
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(Failed::Port(PortError::Unavailable(anyhow::anyhow!(
            "SQLite did not answer within {limit:?}"
        ))))
    })
}

pub(crate) async fn bounded_port<T>(
    limit: Duration,
    work: impl Future<Output = Result<T, PortError>>,
) -> Result<T, PortError> {
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
        Err(PortError::Unavailable(anyhow::anyhow!(
            "SQLite did not answer within {limit:?}"
        )))
    })
}
