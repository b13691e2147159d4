//! Filling an empty, migrated database with rows copied from another
//! store (`gatehouse db copy`): each batch is a JSON array of objects named
//! by column, which PostgreSQL reads into the table's own row type, so
//! every value is parsed by the column's type. All batches go in one
//! transaction: a copy that fails leaves the database as empty as it was.

use anyhow::{Context, bail};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

/// The tables an import may fill: those the migrations made, read from
/// the database itself, so that no second list of tables can drift.
const MIGRATED_TABLES: &str = "\
SELECT tablename AS name FROM pg_tables \
WHERE schemaname = current_schema() AND tablename NOT LIKE '\\_\\_%'";

#[derive(QueryableByName)]
struct Table {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// One import: a connection inside a transaction until [`PgImport::commit`].
pub struct PgImport {
    conn: AsyncPgConnection,
    tables: Vec<String>,
}

impl std::fmt::Debug for PgImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgImport").finish_non_exhaustive()
    }
}

fn known<'t>(tables: &'t [String], table: &str) -> anyhow::Result<&'t str> {
    tables
        .iter()
        .find(|t| *t == table)
        .map(String::as_str)
        .with_context(|| format!("no table {table} to import into"))
}

impl PgImport {
    /// Opens the transaction, after checking that every table is empty
    /// (a copy never merges into live data).
    ///
    /// # Errors
    /// When the database cannot be reached, or holds any row.
    pub async fn begin(url: &str) -> anyhow::Result<Self> {
        let mut conn = crate::tls::connect(url)
            .await
            .context("connecting to the target database")?;
        conn.batch_execute("BEGIN").await?;
        let tables: Vec<String> = diesel::sql_query(MIGRATED_TABLES)
            .load::<Table>(&mut conn)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        for table in &tables {
            let rows = Self::count_on(&mut conn, &tables, table).await?;
            if rows > 0 {
                bail!("the target database is not empty: {table} holds {rows} rows");
            }
        }
        Ok(Self { conn, tables })
    }

    async fn count_on(
        conn: &mut AsyncPgConnection,
        tables: &[String],
        table: &str,
    ) -> anyhow::Result<i64> {
        let table = known(tables, table)?;
        let row: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result(conn)
            .await?;
        Ok(row.n)
    }

    /// The tables the migrations made, which a copy must fill every one of.
    #[must_use]
    pub fn tables(&self) -> &[String] {
        &self.tables
    }

    /// Inserts one batch: a JSON array of rows as objects keyed by column.
    ///
    /// # Errors
    /// A value the column's type refuses, a broken constraint, or the
    /// database gone; the whole import is then undone.
    pub async fn insert(&mut self, table: &str, rows_json: &str) -> anyhow::Result<u64> {
        let table = known(&self.tables, table)?;
        let inserted = diesel::sql_query(format!(
            "INSERT INTO {table} SELECT * FROM jsonb_populate_recordset(NULL::{table}, $1::jsonb)"
        ))
        .bind::<Text, _>(rows_json)
        .execute(&mut self.conn)
        .await
        .with_context(|| format!("copying rows into {table}"))?;
        Ok(inserted as u64)
    }

    /// Rows in `table` as this import sees them (its own inserts included).
    ///
    /// # Errors
    /// As for any query.
    pub async fn count(&mut self, table: &str) -> anyhow::Result<i64> {
        Self::count_on(&mut self.conn, &self.tables, table).await
    }

    /// # Errors
    /// When the commit fails: then nothing was copied.
    pub async fn commit(mut self) -> anyhow::Result<()> {
        self.conn
            .batch_execute("COMMIT")
            .await
            .context("committing the copy")
    }
}
