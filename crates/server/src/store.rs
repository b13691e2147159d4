//! The store backends the composition root can run on, picked by the
//! scheme of `DATABASE_URL`. Everything above this module is generic over
//! [`Backend`]; each backend is a cargo feature of this crate.

use std::future::Future;

use gatehouse_application::ports::{PoolLoad, Store};

use crate::config::Config;

/// Which backend a `DATABASE_URL` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Postgres,
    Sqlite,
}

impl BackendKind {
    /// # Errors
    /// A URL of no scheme we know.
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite://") {
            Ok(Self::Sqlite)
        } else {
            anyhow::bail!("DATABASE_URL must be a postgres:// or sqlite:// URL")
        }
    }
}

/// A store the service can run on: every store port, and what the
/// composition root needs to prepare, open and watch it.
pub trait Backend: Store + Clone + std::fmt::Debug + Sized + 'static {
    /// Creates the database if missing and applies pending migrations;
    /// answers the versions applied.
    fn prepare(config: &Config) -> impl Future<Output = anyhow::Result<Vec<String>>> + Send;

    /// The store outside requests (mail sender, housekeeper, command
    /// line), with this many connections at most.
    ///
    /// # Errors
    /// When the store cannot be set up (not: when the database is away).
    fn open(config: &Config, max_connections: u32) -> anyhow::Result<Self>;

    /// The store one actix worker's requests use: its own, or `None` to
    /// share this one.
    fn for_worker(&self, config: &Config, workers: usize) -> Option<Self>;

    fn pool_load(&self) -> PoolLoad;

    /// The start-up log line that says which store serves.
    fn describe(config: &Config) -> String;
}

#[cfg(feature = "postgres")]
mod postgres {
    use gatehouse_adapter_postgres::{PgConfig, PgStore, ensure_database, run_migrations};

    use super::{Backend, PoolLoad};
    use crate::config::Config;

    fn pg_config(config: &Config, max_connections: u32) -> PgConfig {
        let d = &config.database;
        PgConfig {
            url: d.url.clone(),
            max_connections,
            acquire_timeout: d.acquire_timeout,
            query_timeout: d.query_timeout,
            statement_timeout: d.statement_timeout,
            lock_timeout: d.lock_timeout,
            idle_in_transaction_timeout: d.idle_in_transaction_timeout,
        }
    }

    /// Each worker's part of `DATABASE_MAX_CONNECTIONS`, rounded down so
    /// that the workers together open no more, except that each gets at
    /// least one (a budget below the worker count is exceeded to that
    /// extent).
    pub(crate) fn worker_share(config: &Config, workers: usize) -> u32 {
        let workers = u32::try_from(workers).unwrap_or(u32::MAX).max(1);
        (config.database.max_connections / workers).max(1)
    }

    impl Backend for PgStore {
        async fn prepare(config: &Config) -> anyhow::Result<Vec<String>> {
            use anyhow::Context;
            ensure_database(&config.database.url)
                .await
                .context("ensuring the database exists")?;
            run_migrations(&config.database.url)
                .await
                .context("applying migrations")
        }

        fn open(config: &Config, max_connections: u32) -> anyhow::Result<Self> {
            Ok(PgStore::connect(&pg_config(config, max_connections)))
        }

        /// Each worker gets its own pool, built on the worker's thread. A
        /// pooled connection's I/O task runs on the thread that opened it;
        /// with one shared pool, a request on one worker used a connection
        /// driven by another thread, paying two cross-thread wake-ups per
        /// query (most of the CPU of `/v1/users/me` went to context
        /// switches).
        fn for_worker(&self, config: &Config, workers: usize) -> Option<Self> {
            Some(PgStore::connect(&pg_config(
                config,
                worker_share(config, workers),
            )))
        }

        fn pool_load(&self) -> PoolLoad {
            PgStore::pool_load(self)
        }

        fn describe(_config: &Config) -> String {
            "store: PostgreSQL (any number of instances may share it)".to_owned()
        }
    }
}

#[cfg(feature = "postgres")]
pub use gatehouse_adapter_postgres::PgStore;
#[cfg(feature = "sqlite")]
pub use gatehouse_adapter_sqlite::SqliteStore;
#[cfg(all(feature = "postgres", test))]
pub(crate) use postgres::worker_share;

/// Evaluates `$body` with the type `$S` bound to the store backend that
/// `$config.database.url` names (in a function returning
/// `anyhow::Result`): the one place that turns a URL into a type.
#[macro_export]
macro_rules! with_backend {
    ($config:expr, $S:ident => $body:expr) => {
        match $crate::store::BackendKind::of_url(&$config.database.url)? {
            #[cfg(feature = "postgres")]
            $crate::store::BackendKind::Postgres => {
                type $S = $crate::store::PgStore;
                $body
            }
            #[cfg(feature = "sqlite")]
            $crate::store::BackendKind::Sqlite => {
                type $S = $crate::store::SqliteStore;
                $body
            }
            #[allow(unreachable_patterns)]
            other => ::anyhow::bail!(
                "DATABASE_URL names a {other:?} store, which this build of gatehouse leaves out"
            ),
        }
    };
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use anyhow::Context;
    use gatehouse_adapter_sqlite::{SqliteConfig, SqliteStore, prepare, sqlite_path};

    use super::{Backend, PoolLoad};
    use crate::config::Config;

    fn sqlite_config(config: &Config, max_connections: u32) -> anyhow::Result<SqliteConfig> {
        let d = &config.database;
        Ok(SqliteConfig {
            path: sqlite_path(&d.url)?,
            max_connections,
            acquire_timeout: d.acquire_timeout,
            query_timeout: d.query_timeout,
            // The writer's wait for the write lock is SQLite's lock timeout.
            busy_timeout: d.lock_timeout,
        })
    }

    impl Backend for SqliteStore {
        async fn prepare(config: &Config) -> anyhow::Result<Vec<String>> {
            prepare(&sqlite_path(&config.database.url)?)
                .await
                .context("preparing the SQLite database")
        }

        /// One store for the whole process: SQLite has one writer at a
        /// time, so the workers share its pool and its queue for the lock.
        fn open(config: &Config, _max_connections: u32) -> anyhow::Result<Self> {
            SqliteStore::connect(&sqlite_config(config, config.database.max_connections)?)
        }

        fn for_worker(&self, _config: &Config, _workers: usize) -> Option<Self> {
            None
        }

        fn pool_load(&self) -> PoolLoad {
            SqliteStore::pool_load(self)
        }

        fn describe(config: &Config) -> String {
            let path = sqlite_path(&config.database.url)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            format!("store: SQLite at {path} (one instance only)")
        }
    }
}
