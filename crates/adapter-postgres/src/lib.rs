//! The PostgreSQL adapter: diesel-async over a bb8 pool. It implements
//! every store port (`ports::Store`, held to the store contract), creates
//! the database if it is missing and applies the embedded migrations. Each
//! port method is one statement where one suffices (data-modifying CTEs,
//! kept prepared). No diesel or bb8 type leaves this crate.

#[macro_use]
mod ending;

mod account_tokens;
mod admin;
mod api_keys;
mod audit;
mod database;
mod error;
mod housekeeping;
mod import;
mod mfa;
mod outbox;
mod prepared;
mod rotation;
mod rows;
mod schema;
mod sessions;
mod sign_in;
pub mod tls;
mod unit_of_work;
mod users;

#[cfg(feature = "test-support")]
pub mod test_support;

use std::time::Duration;

use diesel_async::pooled_connection::bb8::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use gatehouse_application::PortError;
use gatehouse_application::ports::PoolLoad;

pub use database::{ensure_database, run_migrations};
pub use import::PgImport;
pub use unit_of_work::PgTx;

#[derive(Debug, Clone)]
pub struct PgConfig {
    pub url: String,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before `Unavailable`.
    pub acquire_timeout: Duration,
    /// Upper bound for any single database call, as the client sees it.
    pub query_timeout: Duration,
    /// Set on every pooled connection, so the server gives up too: a
    /// statement running this long is cancelled (`statement_timeout`)...
    pub statement_timeout: Duration,
    /// ...a lock waited for this long is not taken (`lock_timeout`)...
    pub lock_timeout: Duration,
    /// ...and a transaction left idle this long is ended, releasing its
    /// locks (`idle_in_transaction_session_timeout`).
    pub idle_in_transaction_timeout: Duration,
}

impl PgConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(2),
            query_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(4),
            lock_timeout: Duration::from_secs(2),
            idle_in_transaction_timeout: Duration::from_secs(10),
        }
    }

    /// The `SET` statements each new connection runs.
    fn session_settings(&self) -> String {
        format!(
            "SET statement_timeout = {}; SET lock_timeout = {}; \
             SET idle_in_transaction_session_timeout = {}",
            self.statement_timeout.as_millis().max(1),
            self.lock_timeout.as_millis().max(1),
            self.idle_in_transaction_timeout.as_millis().max(1),
        )
    }
}

#[derive(Clone)]
pub struct PgStore {
    pool: Pool<AsyncPgConnection>,
    query_timeout: Duration,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool.state())
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Builds the pool without connecting: connections are made on demand,
    /// so the service starts (and `/health/ready` reports) while the
    /// database is away, and recovers by itself when it returns.
    pub fn connect(config: &PgConfig) -> Self {
        let settings = config.session_settings();
        let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
        manager_config.custom_setup = Box::new(move |url| {
            let settings = settings.clone();
            Box::pin(async move {
                let mut conn = tls::connect(url).await?;
                conn.batch_execute(&settings)
                    .await
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(conn)
            })
        });
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
            config.url.clone(),
            manager_config,
        );
        let pool = Pool::builder()
            .max_size(config.max_connections.max(1))
            .min_idle(Some(1))
            .connection_timeout(config.acquire_timeout)
            // A checkout test costs a round trip on every request; broken
            // connections are detected by diesel-async and dropped instead.
            .test_on_check_out(false)
            .idle_timeout(Some(Duration::from_secs(300)))
            .build_unchecked(manager);
        Self {
            pool,
            query_timeout: config.query_timeout,
        }
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
        use diesel::IntoSql;
        use diesel_async::RunQueryDsl;
        error::bounded(self.query_timeout, async {
            let mut conn = self.pool.get().await.map_err(error::from_pool)?;
            diesel::select(1_i32.into_sql::<diesel::sql_types::Integer>())
                .get_result::<i32>(&mut *conn)
                .await
                .map(|_| ())
                .map_err(|e| PortError::Unavailable(e.into()))
        })
        .await
    }

    pub(crate) async fn conn(
        &self,
    ) -> Result<bb8::PooledConnection<'_, AsyncDieselConnectionManager<AsyncPgConnection>>, PortError>
    {
        self.pool.get().await.map_err(error::from_pool)
    }
}

/// A readiness probe must answer within a second whatever the database
/// does (Kubernetes gives up after one): this bounds the whole check,
/// connecting included.
const READY_WITHIN: Duration = Duration::from_millis(800);

impl gatehouse_application::ports::Readiness for PgStore {
    async fn ready(&self) -> Result<(), PortError> {
        error::bounded(READY_WITHIN, self.ping()).await
    }
}
