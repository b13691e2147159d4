//! `gatehouse db copy`: every row of the embedded SQLite store into an
//! empty PostgreSQL database, for a project that outgrows one instance.
//! Users, sessions, refresh tokens, API keys, MFA secrets, the audit
//! trail and the outbox all move as they are (the data key seals the same
//! values on either store). The source is read as one snapshot; the
//! target is created and migrated if needed, must be empty, and is filled
//! in one transaction: a failed copy leaves it empty.

use anyhow::{Context, ensure};
use gatehouse_adapter_postgres::{PgImport, ensure_database, run_migrations};
use gatehouse_adapter_sqlite::{Snapshot, prepare, sqlite_path, tables};

use crate::store::BackendKind;

/// Rows read from the source per statement: bounds the memory a copy
/// takes, whatever the size of the tables.
const BATCH: u32 = 500;

/// Copies every table; answers each table's name and row count.
///
/// # Errors
/// Another pair of stores than SQLite to PostgreSQL, a source file that
/// does not exist, a target that is not empty, or any failure on the way
/// (then the target keeps nothing of the copy).
pub async fn copy(from: &str, to: &str) -> anyhow::Result<Vec<(&'static str, u64)>> {
    ensure!(
        BackendKind::of_url(from).ok() == Some(BackendKind::Sqlite)
            && BackendKind::of_url(to).ok() == Some(BackendKind::Postgres),
        "db copy copies from a sqlite:// store to a postgres:// database"
    );
    let path = sqlite_path(from).context("--from")?;
    ensure!(
        path.is_file(),
        "--from: there is no SQLite file at {}",
        path.display()
    );
    // A file written by an older gatehouse gets its migrations first, so
    // its columns are the ones the target's migrations make.
    prepare(&path).await.context("--from")?;
    ensure_database(to).await.context("--to")?;
    run_migrations(to).await.context("--to")?;
    let mut import = PgImport::begin(to).await.context("--to")?;
    // The two stores' migrations make the same tables; a table only one of
    // them has would be silently left behind, so it stops the copy.
    let mut known: Vec<&str> = tables().collect();
    let mut target: Vec<&str> = import.tables().iter().map(String::as_str).collect();
    known.sort_unstable();
    target.sort_unstable();
    if known != target {
        anyhow::bail!(
            "the two schemas differ: the copy knows {known:?}, the target has {target:?}"
        );
    }
    // Every table as it stood at one instant, even if the service still
    // writes; what it writes after this is not copied.
    let mut source = Snapshot::take(&path).await.context("--from")?;
    let mut copied = Vec::new();
    for table in tables() {
        let mut after = 0;
        let mut rows = 0u64;
        loop {
            let batch = source
                .rows(table, after, BATCH)
                .await
                .with_context(|| format!("reading {table}"))?;
            if batch.count == 0 {
                break;
            }
            rows += import.insert(table, &batch.json).await?;
            after = batch.last;
        }
        let landed = import.count(table).await?;
        ensure!(
            u64::try_from(landed).ok() == Some(rows),
            "{table}: {rows} rows read but {landed} landed"
        );
        copied.push((table, rows));
    }
    import.commit().await?;
    Ok(copied)
}
