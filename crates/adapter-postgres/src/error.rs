//! Translating driver and pool failures into what use cases can act on:
//! anything that says "the database is not there right now" becomes
//! `Unavailable` (503, retry), the rest `Unexpected` (500).

use std::future::Future;
use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::PoolError;
use gatehouse_application::PortError;

/// The deferred rule that a token family has one live token, checked when
/// a unit of work commits.
const ONE_LIVE_TOKEN: &str = "refresh_tokens_one_current_per_session";

pub(crate) fn from_diesel(error: DieselError) -> PortError {
    if lost_a_race(&error) {
        return PortError::Unavailable(error.into());
    }
    if matches!(&error, DieselError::DatabaseError(_, info) if info.constraint_name() == Some(ONE_LIVE_TOKEN))
    {
        return PortError::Conflict(error.into());
    }
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

/// Whether PostgreSQL aborted the statement to settle a race: a
/// serialization failure (40001) or a deadlock (40P01). Nothing of it was
/// written, so trying once more is safe; a second loss is `Unavailable`.
pub(crate) fn lost_a_race(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        DieselError::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

/// How one try of a statement failed.
#[derive(Debug)]
pub(crate) enum TryError {
    /// The pool or the time bound: not worth a second try.
    Port(PortError),
    Database(DieselError),
}

impl From<PortError> for TryError {
    fn from(error: PortError) -> Self {
        TryError::Port(error)
    }
}

impl From<DieselError> for TryError {
    fn from(error: DieselError) -> Self {
        TryError::Database(error)
    }
}

/// Runs a statement, built afresh by `attempt` for each try, within
/// `limit`; a try that lost a race (see [`lost_a_race`]) is made once more.
pub(crate) async fn retried<T, F, Fut>(limit: Duration, mut attempt: F) -> Result<T, PortError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TryError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        let outcome = tokio::time::timeout(limit, attempt())
            .await
            .unwrap_or_else(|_| {
                Err(TryError::Port(PortError::Unavailable(anyhow::anyhow!(
                    "database call timed out after {limit:?}"
                ))))
            });
        match outcome {
            Ok(value) => return Ok(value),
            Err(TryError::Database(e)) if tries == 1 && lost_a_race(&e) => {
                tracing::debug!(error = %e, "statement lost a race; trying once more");
            }
            Err(TryError::Database(e)) => return Err(from_diesel(e)),
            Err(TryError::Port(e)) => return Err(e),
        }
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
    fn lost_races_are_unavailable() {
        for error in [
            db_error(
                DatabaseErrorKind::SerializationFailure,
                "could not serialize access",
            ),
            db_error(DatabaseErrorKind::Unknown, "deadlock detected"),
            db_error(
                DatabaseErrorKind::Unknown,
                "canceling statement due to lock timeout",
            ),
            db_error(
                DatabaseErrorKind::Unknown,
                "canceling statement due to statement timeout",
            ),
        ] {
            assert!(matches!(from_diesel(error), PortError::Unavailable(_)));
        }
    }

    #[tokio::test]
    async fn a_lost_race_is_tried_once_more_then_unavailable() {
        let limit = Duration::from_secs(5);
        let mut tries = 0;
        let won: Result<u8, PortError> = retried(limit, || {
            tries += 1;
            let first = tries == 1;
            async move {
                if first {
                    Err(db_error(DatabaseErrorKind::Unknown, "deadlock detected").into())
                } else {
                    Ok(7)
                }
            }
        })
        .await;
        assert_eq!(won.unwrap(), 7);
        assert_eq!(tries, 2);

        let mut tries = 0;
        let lost: Result<u8, PortError> = retried(limit, || {
            tries += 1;
            async { Err(db_error(DatabaseErrorKind::SerializationFailure, "again").into()) }
        })
        .await;
        assert!(matches!(lost, Err(PortError::Unavailable(_))));
        assert_eq!(tries, 2, "once more, not forever");

        let mut tries = 0;
        let other: Result<u8, PortError> = retried(limit, || {
            tries += 1;
            async { Err(db_error(DatabaseErrorKind::CheckViolation, "check").into()) }
        })
        .await;
        assert!(matches!(other, Err(PortError::Unexpected(_))));
        assert_eq!(tries, 1, "only lost races are tried again");
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
