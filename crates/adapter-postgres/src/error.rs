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
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        )
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

/// Whether `error` is a unique violation of exactly `constraint` (for a
/// unique index, PostgreSQL names the index). Another unique violation in
/// the same statement means something else went wrong, and must not be
/// mistaken for the conflict the caller expects.
pub(crate) fn violates_unique(error: &DieselError, constraint: &str) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some(constraint)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn db_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn lost_connections_are_unavailable() {
        for error in [
            db_error(DatabaseErrorKind::ClosedConnection, "closed"),
            db_error(DatabaseErrorKind::UnableToSendCommand, "connection closed"),
            db_error(
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command",
            ),
            DieselError::BrokenTransactionManager,
        ] {
            assert!(matches!(from_diesel(error), PortError::Unavailable(_)));
        }
    }

    #[test]
    fn other_failures_are_unexpected() {
        assert!(matches!(
            from_diesel(db_error(DatabaseErrorKind::CheckViolation, "check")),
            PortError::Unexpected(_)
        ));
        assert!(matches!(
            from_diesel(DieselError::NotFound),
            PortError::Unexpected(_)
        ));
        // Without the constraint's name, no unique violation is taken for a known one.
        assert!(!violates_unique(
            &db_error(DatabaseErrorKind::UniqueViolation, "dup"),
            "users_email_key"
        ));
    }
}
