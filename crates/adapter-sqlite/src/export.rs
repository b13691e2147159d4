//! Every row of every table, as JSON objects named by column, for
//! `gatehouse db copy`: the PostgreSQL schema has the same tables and
//! columns, and reads these objects back by name. Values are written as
//! PostgreSQL reads them: instants in RFC 3339 (microseconds, UTC), byte
//! strings in its `\x` hex form, booleans as JSON booleans.

use std::path::Path;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};

#[derive(Debug, Clone, Copy)]
enum Kind {
    Plain,
    Instant,
    Bytes,
    Bool,
    Json,
}

use Kind::{Bool, Bytes, Instant, Json, Plain};

/// The tables in an order that satisfies their foreign keys, with their
/// columns.
const SCHEMA: &[(&str, &[(&str, Kind)])] = &[
    (
        "users",
        &[
            ("id", Plain),
            ("email", Plain),
            ("password_hash", Plain),
            ("role", Plain),
            ("email_verified_at", Instant),
            ("disabled_at", Instant),
            ("mfa_enabled", Bool),
            ("created_at", Instant),
            ("updated_at", Instant),
            ("totp_secret", Bytes),
            ("totp_pending", Bytes),
            ("totp_last_step", Plain),
            ("sessions_epoch", Plain),
            ("name", Plain),
            ("metadata", Json),
            ("password_must_change", Bool),
            ("last_sign_in_at", Instant),
        ],
    ),
    (
        "sessions",
        &[
            ("id", Plain),
            ("user_id", Plain),
            ("created_at", Instant),
            ("last_used_at", Instant),
            ("expires_at", Instant),
            ("revoked_at", Instant),
            ("revoke_reason", Plain),
            ("amr", Json),
            ("ip", Plain),
            ("user_agent", Plain),
            ("auth_time", Instant),
        ],
    ),
    (
        "refresh_tokens",
        &[
            ("id", Plain),
            ("session_id", Plain),
            ("digest", Bytes),
            ("issued_at", Instant),
            ("expires_at", Instant),
            ("rotated_at", Instant),
            ("sealed_successor", Bytes),
            ("successor_id", Plain),
        ],
    ),
    (
        "audit_events",
        &[
            ("id", Plain),
            ("at", Instant),
            ("kind", Plain),
            ("user_id", Plain),
            ("ip", Plain),
            ("user_agent", Plain),
            ("detail", Json),
        ],
    ),
    (
        "account_tokens",
        &[
            ("digest", Bytes),
            ("purpose", Plain),
            ("user_id", Plain),
            ("created_at", Instant),
            ("expires_at", Instant),
            ("used_at", Instant),
        ],
    ),
    (
        "mail_outbox",
        &[
            ("id", Plain),
            ("recipient", Plain),
            ("subject", Plain),
            ("sealed_body", Bytes),
            ("queued_at", Instant),
            ("next_attempt_at", Instant),
            ("attempts", Plain),
            ("sent_at", Instant),
            ("failed_at", Instant),
        ],
    ),
    (
        "login_throttle",
        &[
            ("key", Plain),
            ("failures", Plain),
            ("locked_until", Instant),
            ("updated_at", Instant),
            ("account", Plain),
            ("last_attempt", Plain),
        ],
    ),
    (
        "api_keys",
        &[
            ("id", Plain),
            ("user_id", Plain),
            ("name", Plain),
            ("digest", Bytes),
            ("prefix", Plain),
            ("created_at", Instant),
            ("expires_at", Instant),
            ("last_used_at", Instant),
            ("revoked_at", Instant),
        ],
    ),
    (
        "mfa_backup_codes",
        &[("user_id", Plain), ("digest", Plain), ("used_at", Instant)],
    ),
];

/// Every table of the migrations, in the order to copy them (a row's
/// foreign keys point at tables earlier in the list).
pub fn tables() -> impl Iterator<Item = &'static str> {
    SCHEMA.iter().map(|(name, _)| *name)
}

fn expression(column: &str, kind: Kind) -> String {
    match kind {
        Plain => column.to_owned(),
        Instant => format!(
            "CASE WHEN {column} IS NULL THEN NULL ELSE \
             strftime('%Y-%m-%dT%H:%M:%S', {column} / 1000000, 'unixepoch') || '.' || \
             printf('%06d', {column} % 1000000) || 'Z' END"
        ),
        Bytes => {
            format!("CASE WHEN {column} IS NULL THEN NULL ELSE '\\x' || lower(hex({column})) END")
        }
        Bool => format!("json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"),
        Json => format!("json({column})"),
    }
}

/// One batch of a table's rows.
#[derive(Debug, Clone)]
pub struct ExportedRows {
    /// A JSON array of objects, one per row.
    pub json: String,
    pub count: usize,
    /// Where the next batch starts (`after`).
    pub last: i64,
}

#[derive(QueryableByName)]
struct Exported {
    #[diesel(sql_type = BigInt)]
    position: i64,
    #[diesel(sql_type = Text)]
    row: String,
}

/// One moment of the whole file: its own connection inside one read
/// transaction, so that a copy taken while the service still writes reads
/// every table as it stood at the same instant (WAL keeps that snapshot
/// for the reader, without holding up writers).
pub struct Snapshot {
    conn: Option<SqliteConnection>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Opens the file and takes the snapshot.
    ///
    /// # Errors
    /// When the file cannot be opened or read.
    pub async fn take(path: &Path) -> anyhow::Result<Self> {
        let path = path.to_string_lossy().into_owned();
        let conn = tokio::task::spawn_blocking(move || -> anyhow::Result<SqliteConnection> {
            let mut conn = SqliteConnection::establish(&path)?;
            // A read transaction's snapshot starts at its first read.
            conn.batch_execute("PRAGMA busy_timeout = 10000; BEGIN; SELECT count(*) FROM users;")?;
            Ok(conn)
        })
        .await??;
        Ok(Self { conn: Some(conn) })
    }

    /// Up to `limit` rows of `table` after position `after` (0 to start).
    ///
    /// # Errors
    /// An unknown table, or a failed read.
    pub async fn rows(
        &mut self,
        table: &str,
        after: i64,
        limit: u32,
    ) -> anyhow::Result<ExportedRows> {
        let Some((name, columns)) = SCHEMA.iter().find(|(name, _)| *name == table) else {
            anyhow::bail!("no table {table} to export");
        };
        let fields: Vec<String> = columns
            .iter()
            .map(|(column, kind)| format!("'{column}', {}", expression(column, *kind)))
            .collect();
        let sql = format!(
            "SELECT rowid AS position, json_object({}) AS row FROM {name} \
             WHERE rowid > ? ORDER BY rowid LIMIT ?",
            fields.join(", ")
        );
        let mut conn = self.conn.take().context("the snapshot has ended")?;
        let (conn, rows) = tokio::task::spawn_blocking(move || {
            let rows: QueryResult<Vec<Exported>> = diesel::sql_query(sql)
                .bind::<BigInt, _>(after)
                .bind::<BigInt, _>(i64::from(limit))
                .load(&mut conn);
            (conn, rows)
        })
        .await?;
        self.conn = Some(conn);
        let rows = rows?;
        let last = rows.last().map_or(after, |r| r.position);
        let count = rows.len();
        let json = format!(
            "[{}]",
            rows.into_iter()
                .map(|r| r.row)
                .collect::<Vec<_>>()
                .join(",")
        );
        Ok(ExportedRows { json, count, last })
    }
}

#[cfg(test)]
mod tests {
    use diesel::QueryableByName;
    use diesel::sql_types::Text;

    use super::*;
    use crate::{SqliteConfig, SqliteStore, prepare};

    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = Text)]
        name: String,
    }

    /// A column the migrations add must be exported too, or `db copy`
    /// would leave it behind without a word.
    #[tokio::test]
    async fn every_table_and_column_of_the_migrations_is_exported() {
        let dir = std::env::temp_dir().join(format!("gatehouse-export-{}", uuid::Uuid::now_v7()));
        let path = dir.join("g.db");
        prepare(&path).await.unwrap();
        let store = SqliteStore::connect(&SqliteConfig::new(&path)).unwrap();
        let migrated: Vec<String> = store
            .read(|c| {
                diesel::sql_query(
                    "SELECT name FROM sqlite_schema WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations' ORDER BY name",
                )
                .load::<Column>(c)
            })
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        let mut exported: Vec<String> = tables().map(str::to_owned).collect();
        exported.sort();
        assert_eq!(migrated, exported);
        for (table, columns) in SCHEMA {
            let table = (*table).to_owned();
            let mut stored: Vec<String> = store
                .read(move |c| {
                    diesel::sql_query("SELECT name FROM pragma_table_info(?)")
                        .bind::<Text, _>(table)
                        .load::<Column>(c)
                })
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.name)
                .collect();
            let mut listed: Vec<String> = columns.iter().map(|(c, _)| (*c).to_owned()).collect();
            stored.sort();
            listed.sort();
            assert_eq!(stored, listed);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A copy taken while the service writes reads one instant: rows
    /// written after the snapshot began are not in it.
    #[tokio::test]
    async fn a_snapshot_does_not_see_later_writes() {
        let dir = std::env::temp_dir().join(format!("gatehouse-snap-{}", uuid::Uuid::now_v7()));
        let path = dir.join("g.db");
        prepare(&path).await.unwrap();
        let store = SqliteStore::connect(&SqliteConfig::new(&path)).unwrap();
        let insert = |id: &'static str, email: &'static str| {
            let store = store.clone();
            async move {
                store
                    .write(move |c| {
                        diesel::sql_query(format!(
                            "INSERT INTO users (id, email, password_hash, created_at, updated_at) \
                             VALUES ('{id}', '{email}', 'x', 0, 0)"
                        ))
                        .execute(c)
                    })
                    .await
                    .unwrap();
            }
        };
        insert("00000000-0000-4000-8000-000000000001", "before@example.com").await;
        let mut snapshot = Snapshot::take(&path).await.unwrap();
        insert("00000000-0000-4000-8000-000000000002", "after@example.com").await;
        let rows = snapshot.rows("users", 0, 100).await.unwrap();
        assert_eq!(rows.count, 1);
        assert!(rows.json.contains("before@example.com"), "{}", rows.json);
        drop(snapshot);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
