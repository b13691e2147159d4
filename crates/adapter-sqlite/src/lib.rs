//! The embedded store: SQLite through diesel, behind diesel-async's
//! `SyncConnectionWrapper` and a bb8 pool. It implements every store port
//! the PostgreSQL adapter does, against the same contract, so that
//! `gatehouse serve` runs with no database server beside it.
//!
//! SQLite is in-process: a statement costs a function call, not a round
//! trip, so each port method is one closure of plain statements. Reads run
//! on pooled connections side by side (WAL); writes run on the store's one
//! writer thread (see `writer.rs`), each in one `BEGIN IMMEDIATE`
//! transaction (the write lock is taken first, so a transaction never
//! fails half-way to upgrade a read lock). No diesel or bb8 type leaves
//! this crate.

mod account_tokens;
mod admin;
mod api_keys;
mod audit;
mod codec;
mod database;
mod error;
mod export;
mod housekeeping;
mod mfa;
mod outbox;
mod prepared;
mod rotation;
mod runs_to_completion;
mod runtime;
mod sessions;
mod sign_in;
mod threads;
mod unit_of_work;
mod users;
mod writer;
mod writes;

#[cfg(feature = "test-support")]
pub mod test_support;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::result::QueryResult;
use diesel::{Connection, SqliteConnection};
use diesel_async::pooled_connection::bb8::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use gatehouse_application::PortError;
use gatehouse_application::ports::PoolLoad;

pub use database::{prepare, sqlite_path};
pub use export::{ExportedRows, Snapshot, tables};
pub use unit_of_work::SqliteTx;

use crate::error::Failed;
use crate::runs_to_completion::RunsToCompletion;
use crate::runtime::StoreRuntime;
use crate::threads::StoreThreads;
use crate::writer::Writer;

pub(crate) type Wrapped = SyncConnectionWrapper<SqliteConnection, StoreThreads>;

#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// The database file; created, with its directory, by [`prepare`].
    pub path: PathBuf,
    /// Readers run side by side (WAL); writes have one connection of their
    /// own whatever this is.
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before `Unavailable`.
    pub acquire_timeout: Duration,
    /// Upper bound for any single store call, as the caller sees it.
    pub query_timeout: Duration,
    /// How long a writer waits for the write lock before giving up.
    pub busy_timeout: Duration,
}

impl SqliteConfig {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(2),
            query_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(4),
        }
    }

    /// Set on every connection: SQLite keeps none of these in the file.
    /// `synchronous = NORMAL` is WAL's usual pairing: a crash of the
    /// process loses nothing committed; a power cut may lose the last
    /// commits, never consistency.
    fn connection_settings(&self) -> String {
        format!(
            "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
            self.busy_timeout.as_millis().max(1)
        )
    }
}

/// One store per process (SQLite wants a single writer), shared by every
/// worker: clones share the pool and the runtime.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool<Wrapped>,
    runtime: StoreRuntime,
    writer: Writer,
    query_timeout: Duration,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("pool", &self.pool.state())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Builds the pool without opening the file: connections are made on
    /// demand. Call [`prepare`] first, which creates and migrates it.
    ///
    /// # Errors
    /// When the store's runtime or writer cannot be started (no threads
    /// left).
    pub fn connect(config: &SqliteConfig) -> anyhow::Result<Self> {
        let runtime = StoreRuntime::start()?;
        let settings = config.connection_settings();
        let writer = Writer::start(config.path.clone(), settings.clone(), config.query_timeout)?;
        let handle = runtime.handle().clone();
        let mut manager_config = ManagerConfig::<Wrapped>::default();
        manager_config.custom_setup = Box::new(move |url| {
            let (settings, handle, url) = (settings.clone(), handle.clone(), url.to_owned());
            Box::pin(async move {
                let threads = StoreThreads(handle.clone());
                let opened = handle
                    .spawn_blocking(move || {
                        let mut conn = SqliteConnection::establish(&url)?;
                        conn.batch_execute(&settings)
                            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                        Ok(conn)
                    })
                    .await
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                opened.map(|conn| Wrapped::with_runtime(conn, threads))
            })
        });
        let manager = AsyncDieselConnectionManager::<Wrapped>::new_with_config(
            config.path.to_string_lossy(),
            manager_config,
        );
        // bb8 tops the pool up from a task on the current runtime: ours,
        // at build (later, the caller's; the connection's threads are ours
        // either way).
        let _entered = runtime.handle().enter();
        let pool = Pool::builder()
            .max_size(config.max_connections.max(1))
            .min_idle(Some(1))
            .connection_timeout(config.acquire_timeout)
            .test_on_check_out(false)
            .idle_timeout(Some(Duration::from_secs(300)))
            .build_unchecked(manager);
        Ok(Self {
            pool,
            runtime,
            writer,
            query_timeout: config.query_timeout,
        })
    }

    /// Connections open and, of those, idle (for `/metrics`).
    #[must_use]
    pub fn pool_load(&self) -> PoolLoad {
        let state = self.pool.state();
        PoolLoad {
            connections: state.connections,
            idle: state.idle_connections,
        }
    }

    /// Answers when the database does (for `/health/ready`).
    ///
    /// # Errors
    /// `Unavailable` when no connection can be had or the query fails.
    pub async fn ping(&self) -> Result<(), PortError> {
        self.read(|c| {
            use diesel::RunQueryDsl;
            diesel::sql_query("SELECT 1").execute(c).map(|_| ())
        })
        .await
    }

    /// For statements that only read: a pooled connection on a blocking
    /// thread, beside the writer (WAL), within the query timeout. The work
    /// itself is never cut off: when the caller stops waiting, it finishes
    /// on the store's runtime, and only then does the connection go back
    /// (see `runs_to_completion.rs`).
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut SqliteConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, PortError> {
        let pool = self.pool.clone();
        let runtime = self.runtime.handle().clone();
        let call = error::bounded(self.query_timeout, async move {
            let mut conn = pool.get_owned().await.map_err(error::from_pool)?;
            let statement = conn.spawn_blocking(work);
            RunsToCompletion::new(runtime, async move {
                let done = statement.await;
                drop(conn);
                done
            })
            .await
            .map_err(Failed::Db)
        });
        call.await.map_err(Failed::into_port)
    }

    /// In one `BEGIN IMMEDIATE` transaction: all of `work` or none of it.
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut SqliteConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, PortError> {
        self.write_raw(work).await.map_err(Failed::into_port)
    }

    pub(crate) async fn write_raw<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut SqliteConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, Failed> {
        let written = self.writer.run(move |c| c.immediate_transaction(work));
        error::bounded(self.query_timeout, written).await
    }
}

/// A readiness probe must answer within a second whatever the database
/// does (Kubernetes gives up after one).
const READY_WITHIN: Duration = Duration::from_millis(800);

impl gatehouse_application::ports::Readiness for SqliteStore {
    async fn ready(&self) -> Result<(), PortError> {
        error::bounded_port(READY_WITHIN, self.ping()).await
    }
}
