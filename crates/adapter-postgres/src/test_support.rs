//! A fresh database per test, cloned from a template migrated once (the
//! crates.io pattern): tests never share state, and cloning is far cheaper
//! than migrating. The template is named after a hash of the migrations,
//! so changing them produces a new one.
//!
//! `TEST_DATABASE_URL` names the server (any database on it); the default
//! is the local `postgres://postgres@127.0.0.1:5432/postgres`.

use anyhow::Context;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::database::{database_exists, maintenance_url, quote_ident, run_migrations};
use crate::{PgConfig, PgStore};

const TEMPLATE: &str = concat!("gatehouse_tpl_", env!("GATEHOUSE_MIGRATIONS_HASH"));
/// Any constant: serialises template creation across test processes.
const TEMPLATE_LOCK: i64 = 0x6761_7465_686f_7573;

fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn url_for(name: &str) -> anyhow::Result<String> {
    let (admin, _) = maintenance_url(&server_url())?;
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b.to_owned(), format!("?{q}")),
        None => (admin, String::new()),
    };
    let base = base.trim_end_matches("/postgres");
    Ok(format!("{base}/{name}{query}"))
}

async fn admin() -> anyhow::Result<AsyncPgConnection> {
    let (admin, _) = maintenance_url(&server_url())?;
    AsyncPgConnection::establish(&admin)
        .await
        .context("connecting to the test PostgreSQL server")
}

async fn execute(conn: &mut AsyncPgConnection, sql: &str) -> anyhow::Result<()> {
    diesel::sql_query(sql)
        .execute(conn)
        .await
        .with_context(|| format!("running `{sql}`"))?;
    Ok(())
}

async fn ensure_template(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    execute(conn, &format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})")).await?;
    let result = async {
        if database_exists(conn, TEMPLATE).await? {
            return Ok(());
        }
        // Build under a temporary name and rename when complete, so a
        // crash half-way never leaves a half-migrated template behind.
        let building = format!("{TEMPLATE}_building");
        execute(
            conn,
            &format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&building)
            ),
        )
        .await?;
        execute(conn, &format!("CREATE DATABASE {}", quote_ident(&building))).await?;
        run_migrations(&url_for(&building)?).await?;
        execute(
            conn,
            &format!(
                "ALTER DATABASE {} RENAME TO {}",
                quote_ident(&building),
                quote_ident(TEMPLATE)
            ),
        )
        .await
    }
    .await;
    execute(conn, &format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})")).await?;
    result
}

/// A database of its own for one test; dropped when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    /// # Panics
    /// When the test server cannot be reached: a test without its database cannot run.
    pub async fn create() -> Self {
        Self::try_create()
            .await
            .unwrap_or_else(|e| panic!("test database: {e:#}"))
    }

    async fn try_create() -> anyhow::Result<Self> {
        let mut conn = admin().await?;
        ensure_template(&mut conn).await?;
        let name = format!("gatehouse_test_{}", uuid::Uuid::now_v7().simple());
        execute(
            &mut conn,
            &format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote_ident(&name),
                quote_ident(TEMPLATE)
            ),
        )
        .await?;
        Ok(Self {
            url: url_for(&name)?,
            name,
        })
    }

    pub fn config(&self) -> PgConfig {
        PgConfig::new(self.url.clone())
    }

    pub fn store(&self) -> PgStore {
        PgStore::connect(&self.config())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside async; a short-lived runtime on its own thread
        // does the cleanup whatever runtime the test used.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut conn = admin().await?;
                execute(
                    &mut conn,
                    &format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        quote_ident(&name)
                    ),
                )
                .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: test database {} was not dropped", self.name);
        }
    }
}

/// What the adapter makes of a driver error, for tests that provoke real
/// ones (deadlocks, serialization failures).
pub fn port_error_of(error: diesel::result::Error) -> gatehouse_application::PortError {
    crate::error::from_diesel(error)
}
