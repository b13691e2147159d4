//! The database file: created with its directory when missing, put in
//! WAL mode (kept in the file), and migrated with the migrations embedded
//! in the binary.

use std::path::{Path, PathBuf};

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub(crate) const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// The file a `sqlite://` URL names: `sqlite://gatehouse.db` is relative
/// to the working directory, `sqlite:///var/lib/gatehouse/gatehouse.db`
/// absolute.
///
/// # Errors
/// Another scheme, no path, or a query string (SQLite's URI options are
/// not ours to pass through).
pub fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .context("DATABASE_URL must start with sqlite:// for the SQLite store")?;
    anyhow::ensure!(!path.is_empty(), "DATABASE_URL names no SQLite file");
    anyhow::ensure!(
        !path.contains('?') && !path.contains('#'),
        "DATABASE_URL: a sqlite:// URL takes a file path only, no options"
    );
    // SQLite would take these as an in-memory database or a URI, each
    // connection with its own empty, unmigrated database.
    anyhow::ensure!(
        !path.starts_with(":memory:") && !path.starts_with("file:"),
        "DATABASE_URL: a sqlite:// URL names a file (sqlite://gatehouse.db)"
    );
    Ok(PathBuf::from(path))
}

/// Creates the file (and its directory) if missing, turns on WAL and
/// applies pending migrations; answers the versions applied.
///
/// # Errors
/// When the directory or file cannot be made or opened, or a migration fails.
pub async fn prepare(path: &Path) -> anyhow::Result<Vec<String>> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || prepare_blocking(&path))
        .await
        .context("SQLite preparation task")?
}

fn prepare_blocking(path: &Path) -> anyhow::Result<Vec<String>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the directory {}", dir.display()))?;
    }
    create_private(path)?;
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())
        .with_context(|| format!("opening the SQLite file {}", path.display()))?;
    // Another connection to the file (a running instance, a backup) may
    // hold a lock for a moment: wait for it rather than fail the start.
    conn.batch_execute(
        "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;",
    )
    .context("turning on WAL")?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("applying migrations: {e}"))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Makes the file, if missing, readable by its owner only: it holds
/// password hashes and sealed secrets. SQLite gives its `-wal` and `-shm`
/// files the same mode.
fn create_private(path: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("creating the SQLite file {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_relative_and_absolute_files() {
        assert_eq!(
            sqlite_path("sqlite://gatehouse.db").unwrap(),
            PathBuf::from("gatehouse.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///var/lib/gatehouse/g.db").unwrap(),
            PathBuf::from("/var/lib/gatehouse/g.db")
        );
        for bad in [
            "sqlite://",
            "postgres://x/y",
            "sqlite://g.db?mode=ro",
            "g.db",
            "sqlite://:memory:",
            "sqlite://file:g.db",
        ] {
            assert!(sqlite_path(bad).is_err(), "{bad}");
        }
    }
}
