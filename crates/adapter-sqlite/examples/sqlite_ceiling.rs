//! The machine's SQLite ceilings for `just bench`, as pgbench gives
//! PostgreSQL's: on a file migrated like the store's, with the store's
//! connection settings (WAL, synchronous = NORMAL, busy_timeout), one
//! thread and connection per core, for SECONDS:
//!
//! - `select`: point lookups of a session by id (what `/v1/users/me` does
//!   besides HTTP and the JWT);
//! - `rotate`: the bare rotation as a `BEGIN IMMEDIATE` transaction: retire
//!   one token, insert its successor (what a refresh does besides finding
//!   it, the audit row and the JWT). Each thread rotates its own sessions.
//!
//! Usage: `sqlite_ceiling select|rotate SECONDS`. Prints one line:
//! `sqlite_<mode>_per_sec <rate>`.

// The figure on stdout is this program's whole purpose.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Binary, Text};
use diesel::{Connection, RunQueryDsl, SqliteConnection};

const SESSIONS_PER_THREAD: u64 = 100;

fn session_id(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

fn connect(path: &str) -> anyhow::Result<SqliteConnection> {
    let mut conn = SqliteConnection::establish(path)?;
    conn.batch_execute(
        "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
    )?;
    Ok(conn)
}

fn seed(path: &str, threads: u64) -> anyhow::Result<()> {
    let mut conn = connect(path)?;
    conn.batch_execute(
        "BEGIN; INSERT INTO users (id, email, password_hash, created_at, updated_at) \
         VALUES ('00000000-0000-4000-8000-000000000000', 'ceiling@example.com', 'x', 0, 0);",
    )?;
    for n in 1..=threads * SESSIONS_PER_THREAD {
        diesel::sql_query(
            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, amr) \
             VALUES (?, '00000000-0000-4000-8000-000000000000', 0, 0, 9000000000000000, '[\"pwd\"]')",
        )
        .bind::<Text, _>(session_id(n))
        .execute(&mut conn)?;
        diesel::sql_query(
            "INSERT INTO refresh_tokens (id, session_id, digest, issued_at, expires_at) \
             VALUES (?, ?, randomblob(32), 0, 9000000000000000)",
        )
        .bind::<Text, _>(uuid::Uuid::now_v7().to_string())
        .bind::<Text, _>(session_id(n))
        .execute(&mut conn)?;
    }
    conn.batch_execute("COMMIT; ANALYZE;")?;
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct UserId {
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    user_id: String,
}

fn one(conn: &mut SqliteConnection, mode: &str, thread: u64, i: u64) -> anyhow::Result<()> {
    let n = thread * SESSIONS_PER_THREAD + i % SESSIONS_PER_THREAD + 1;
    match mode {
        "select" => {
            diesel::sql_query("SELECT user_id FROM sessions WHERE id = ?")
                .bind::<Text, _>(session_id(n))
                .get_result::<UserId>(conn)?;
        }
        _ => {
            conn.immediate_transaction(|c| {
                diesel::sql_query(
                    "UPDATE refresh_tokens SET rotated_at = ?, sealed_successor = x'00010203' \
                     WHERE session_id = ? AND rotated_at IS NULL",
                )
                .bind::<BigInt, _>(i64::try_from(i).unwrap_or(i64::MAX))
                .bind::<Text, _>(session_id(n))
                .execute(c)?;
                diesel::sql_query(
                    "INSERT INTO refresh_tokens (id, session_id, digest, issued_at, expires_at) \
                     VALUES (?, ?, ?, 0, 9000000000000000)",
                )
                .bind::<Text, _>(uuid::Uuid::now_v7().to_string())
                .bind::<Text, _>(session_id(n))
                .bind::<Binary, _>(uuid::Uuid::now_v7().as_bytes().repeat(2))
                .execute(c)
                .map(|_| ())
            })?;
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode != "select" && mode != "rotate" {
        bail!("usage: sqlite_ceiling select|rotate SECONDS");
    }
    let seconds: u64 = std::env::args()
        .nth(2)
        .map_or(Ok(5), |s| s.parse())
        .context("SECONDS")?;
    let dir = std::env::temp_dir().join(format!("sqlite-ceiling-{}", uuid::Uuid::now_v7()));
    let path = dir.join("ceiling.db");
    gatehouse_adapter_sqlite::prepare(&path).await?;
    let path = path.display().to_string();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    seed(&path, threads)?;
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let (path, mode) = (path.clone(), mode.clone());
            std::thread::spawn(move || -> anyhow::Result<u64> {
                let mut conn = connect(&path)?;
                let mut done = 0u64;
                while Instant::now() < until {
                    one(&mut conn, &mode, thread, done)?;
                    done += 1;
                }
                Ok(done)
            })
        })
        .collect();
    let mut total = 0u64;
    for worker in workers {
        total += worker
            .join()
            .map_err(|_| anyhow::anyhow!("a worker panicked"))??;
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    println!("sqlite_{mode}_per_sec {rate:.0}");
    Ok(())
}
