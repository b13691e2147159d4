//! `DATABASE_*`: where the store is, and how long anything may wait on it.

use std::time::Duration;

use super::source::Source;

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `DATABASE_URL`: `postgres://…` or `sqlite://…`. May hold a
    /// password: never logged.
    pub url: String,
    /// `DATABASE_MAX_CONNECTIONS`, at least 1.
    pub max_connections: u32,
    /// `DATABASE_ACQUIRE_TIMEOUT_MS`: the wait for a pooled connection.
    pub acquire_timeout: Duration,
    /// `DATABASE_QUERY_TIMEOUT_MS`: any one call, as the client sees it.
    pub query_timeout: Duration,
    /// `DATABASE_STATEMENT_TIMEOUT_MS`: below the client's bound, so the
    /// server cancels first and the connection stays usable.
    pub statement_timeout: Duration,
    /// `DATABASE_LOCK_TIMEOUT_MS`.
    pub lock_timeout: Duration,
    /// `DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS`: a unit of work left idle
    /// this long is ended, releasing its locks.
    pub idle_in_transaction_timeout: Duration,
}

impl DatabaseConfig {
    pub(super) fn read<F: Fn(&str) -> Option<String>>(s: &Source<F>) -> anyhow::Result<Self> {
        Ok(Self {
            url: s.url(
                "DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432/gatehouse",
            ),
            max_connections: s.number_from("DATABASE_MAX_CONNECTIONS", 16, 1)?,
            acquire_timeout: s.millis("DATABASE_ACQUIRE_TIMEOUT_MS", 2_000)?,
            query_timeout: s.millis("DATABASE_QUERY_TIMEOUT_MS", 5_000)?,
            statement_timeout: s.millis("DATABASE_STATEMENT_TIMEOUT_MS", 4_000)?,
            lock_timeout: s.millis("DATABASE_LOCK_TIMEOUT_MS", 2_000)?,
            idle_in_transaction_timeout: s
                .millis("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS", 10_000)?,
        })
    }
}
