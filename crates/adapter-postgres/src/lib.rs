//! The PostgreSQL adapter: diesel-async over a bb8 pool. It implements the
//! store ports (`UserStore`, `SessionStore` with its unit of work,
//! `AccountTokenStore`, `MailOutbox` and `AuditLog`), creates the database if it is missing and applies the
//! embedded migrations. No diesel or bb8 type leaves this crate.

mod account_tokens;
mod audit;
mod database;
mod error;
mod outbox;
mod prepared;
mod rows;
mod schema;
mod sessions;
mod users;

#[cfg(feature = "test-support")]
pub mod test_support;

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::bb8::Pool;
use gatehouse_application::PortError;

pub use database::{ensure_database, run_migrations};
pub use sessions::PgTx;

#[derive(Debug, Clone)]
pub struct PgConfig {
    pub url: String,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before `Unavailable`.
    pub acquire_timeout: Duration,
    /// Upper bound for any single database call.
    pub query_timeout: Duration,
}

impl PgConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(2),
            query_timeout: Duration::from_secs(5),
        }
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
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(config.url.clone());
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

impl gatehouse_application::ports::Readiness for PgStore {
    async fn ready(&self) -> Result<(), PortError> {
        self.ping().await
    }
}
