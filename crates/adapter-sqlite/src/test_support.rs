//! A fresh SQLite database per test, in its own temporary directory,
//! removed when the test ends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};

use crate::{SqliteConfig, SqliteStore, prepare};

#[derive(Debug)]
pub struct TestDatabase {
    dir: PathBuf,
    path: PathBuf,
    store: SqliteStore,
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let dir = std::env::temp_dir().join(format!("gatehouse-test-{}", uuid::Uuid::now_v7()));
        let path = dir.join("gatehouse.db");
        prepare(&path).await.expect("preparing the test database");
        let store = SqliteStore::connect(&SqliteConfig::new(&path)).expect("SQLite store");
        Self { dir, path, store }
    }

    pub fn store(&self) -> SqliteStore {
        self.store.clone()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `sqlite://` and the file's path.
    pub fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    /// Runs one statement (to set up states no port makes).
    pub async fn execute(&self, sql: &str) {
        let sql = sql.to_owned();
        self.store
            .write(move |c| diesel::sql_query(sql).execute(c).map(|_| ()))
            .await
            .unwrap();
    }

    /// The single `n` column of one row of `sql` (e.g. `SELECT count(*) AS n FROM users`).
    pub async fn count(&self, sql: &str) -> i64 {
        let sql = sql.to_owned();
        self.store
            .read(move |c| diesel::sql_query(sql).get_result::<N>(c).map(|r| r.n))
            .await
            .unwrap()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
