//! Start-up chores: create the database when it is missing, apply the
//! migrations embedded in the binary.

use anyhow::{Context, bail};
use diesel::QueryableByName;
use diesel::sql_types::{Bool, Text};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub(crate) const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Splits `postgres://user@host:port/name?opts` into the URL of the
/// `postgres` maintenance database and `name`.
pub(crate) fn maintenance_url(url: &str) -> anyhow::Result<(String, String)> {
    let (without_query, query) = match url.split_once('?') {
        Some((base, q)) => (base, Some(q)),
        None => (url, None),
    };
    let scheme_end = without_query.find("://").map_or(0, |i| i + 3);
    let Some(slash) = without_query[scheme_end..]
        .rfind('/')
        .map(|i| i + scheme_end)
    else {
        bail!("DATABASE_URL names no database");
    };
    let name = &without_query[slash + 1..];
    if name.is_empty() {
        bail!("DATABASE_URL names no database");
    }
    let mut admin = format!("{}/postgres", &without_query[..slash]);
    if let Some(q) = query {
        admin.push('?');
        admin.push_str(q);
    }
    Ok((admin, name.to_owned()))
}

pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

pub(crate) async fn database_exists(
    conn: &mut AsyncPgConnection,
    name: &str,
) -> anyhow::Result<bool> {
    let row: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(name)
            .get_result(conn)
            .await?;
    Ok(row.exists)
}

const CONNECT_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Creates the database named in `url` unless it exists. Connects to the
/// database itself first, and to the `postgres` maintenance database only
/// when it is missing.
///
/// # Errors
/// When the server cannot be reached or refuses.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    // The usual case, and the only one a least-privileged role (which
    // owns its database and may create no other) can handle: the database
    // is there. Only when it is missing is the maintenance database asked.
    // A blackholed server must not hold the start forever.
    let connected = tokio::time::timeout(CONNECT_WITHIN, crate::tls::connect(url))
        .await
        .map_err(|_| anyhow::anyhow!("connecting to DATABASE_URL timed out"))?;
    match connected {
        Ok(_) => return Ok(()),
        Err(e) if e.to_string().contains("does not exist") => {}
        Err(e) => return Err(e).context("connecting to DATABASE_URL"),
    }
    let (admin_url, name) = maintenance_url(url)?;
    let mut conn = crate::tls::connect(&admin_url)
        .await
        .context("connecting to the maintenance database `postgres`")?;
    if database_exists(&mut conn, &name).await? {
        return Ok(());
    }
    match diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(&name)))
        .execute(&mut conn)
        .await
    {
        Ok(_) => Ok(()),
        // Another instance created it in between: that is what we wanted.
        Err(e) if database_exists(&mut conn, &name).await.unwrap_or(false) => {
            tracing::debug!(error = %e, "database created concurrently");
            Ok(())
        }
        Err(e) => Err(e).context("creating the database"),
    }
}

/// Applies pending migrations; returns the versions applied.
///
/// # Errors
/// When a migration fails (nothing of that migration is kept).
pub async fn run_migrations(url: &str) -> anyhow::Result<Vec<String>> {
    let conn = crate::tls::connect(url)
        .await
        .context("connecting for migrations")?;
    // diesel_migrations is synchronous; keep it off the async workers. The
    // wrapper drives the connection on this runtime.
    let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::from(conn);
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("applying migrations: {e}"))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
    .await
    .context("migration task")?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maintenance_url_swaps_the_database_name() {
        assert_eq!(
            maintenance_url("postgres://postgres@127.0.0.1:5432/gatehouse").unwrap(),
            (
                "postgres://postgres@127.0.0.1:5432/postgres".into(),
                "gatehouse".into()
            )
        );
        assert_eq!(
            maintenance_url("postgres://u:p@h/db?sslmode=disable").unwrap(),
            (
                "postgres://u:p@h/postgres?sslmode=disable".into(),
                "db".into()
            )
        );
        assert!(maintenance_url("postgres://u@h/").is_err());
        assert!(maintenance_url("postgres://u@h").is_err());
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident(r#"we"ird"#), r#""we""ird""#);
    }
}
