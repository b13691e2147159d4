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

/// A mail as the outbox holds it, for tests to inspect.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub mail: gatehouse_application::ports::OutgoingMail,
    pub attempts: u32,
    pub next_attempt_at: gatehouse_domain::Timestamp,
    pub sent: bool,
    pub failed: bool,
    pub body_erased: bool,
}

#[derive(QueryableByName)]
struct OutboxRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    recipient: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    subject: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Binary>)]
    sealed_body: Option<Vec<u8>>,
    #[diesel(sql_type = BigInt)]
    queued_at: i64,
    #[diesel(sql_type = BigInt)]
    next_attempt_at: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    sent_at: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    failed_at: Option<i64>,
}

#[derive(QueryableByName)]
struct Text1 {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    v: Option<String>,
}

/// What use-case tests read or set behind the ports' backs: states no port
/// makes, and rows no port returns.
impl SqliteStore {
    /// Every audit event committed so far, oldest first.
    pub async fn audit_events(&self) -> Vec<gatehouse_domain::AuditEvent> {
        self.read(|c| {
            diesel::sql_query("SELECT * FROM audit_events ORDER BY at, id")
                .load::<crate::admin::AuditRow>(c)?
                .into_iter()
                .map(crate::admin::AuditRow::into_event)
                .collect()
        })
        .await
        .unwrap()
    }

    /// Every mail ever queued, oldest first.
    pub async fn outbox(&self) -> Vec<QueuedMail> {
        use crate::codec::instant;
        self.read(|c| {
            diesel::sql_query("SELECT * FROM mail_outbox ORDER BY queued_at, id")
                .load::<OutboxRow>(c)?
                .into_iter()
                .map(|r| {
                    Ok(QueuedMail {
                        mail: gatehouse_application::ports::OutgoingMail {
                            id: crate::codec::uuid(&r.id)?,
                            to: gatehouse_domain::Email::parse(&r.recipient).unwrap(),
                            subject: r.subject,
                            sealed_body: r.sealed_body.clone().unwrap_or_default(),
                            queued_at: instant(r.queued_at)?,
                        },
                        attempts: u32::try_from(r.attempts).unwrap(),
                        next_attempt_at: instant(r.next_attempt_at)?,
                        sent: r.sent_at.is_some(),
                        failed: r.failed_at.is_some(),
                        body_erased: r.sealed_body.is_none(),
                    })
                })
                .collect()
        })
        .await
        .unwrap()
    }

    /// Why the session ended, if it did.
    pub async fn revoke_reason(&self, session: gatehouse_domain::SessionId) -> Option<String> {
        let id = session.to_string();
        self.read(move |c| {
            diesel::sql_query("SELECT revoke_reason AS v FROM sessions WHERE id = ?")
                .bind::<diesel::sql_types::Text, _>(id)
                .get_result::<Text1>(c)
                .map(|r| r.v)
        })
        .await
        .ok()
        .flatten()
    }

    pub async fn session_count(&self) -> usize {
        self.count_rows("SELECT count(*) AS n FROM sessions").await
    }

    pub async fn token_count(&self) -> usize {
        self.count_rows("SELECT count(*) AS n FROM refresh_tokens")
            .await
    }

    async fn count_rows(&self, sql: &'static str) -> usize {
        self.read(move |c| diesel::sql_query(sql).get_result::<N>(c).map(|r| r.n))
            .await
            .map(|n| usize::try_from(n).unwrap())
            .unwrap()
    }

    pub async fn set_role(&self, user: gatehouse_domain::UserId, role: gatehouse_domain::Role) {
        self.set_user_column("role = ?", role.as_str().to_owned(), user)
            .await;
    }

    pub async fn set_disabled(&self, user: gatehouse_domain::UserId, disabled: bool) {
        let id = user.to_string();
        self.write(move |c| {
            diesel::sql_query(
                "UPDATE users SET disabled_at = CASE WHEN ? THEN COALESCE(disabled_at, 1) END WHERE id = ?",
            )
            .bind::<diesel::sql_types::Bool, _>(disabled)
            .bind::<diesel::sql_types::Text, _>(id)
            .execute(c)
            .map(|_| ())
        })
        .await
        .unwrap();
    }

    pub async fn password_hash(
        &self,
        user: gatehouse_domain::UserId,
    ) -> Option<gatehouse_domain::PasswordHash> {
        let id = user.to_string();
        self.read(move |c| {
            diesel::sql_query("SELECT password_hash AS v FROM users WHERE id = ?")
                .bind::<diesel::sql_types::Text, _>(id)
                .get_result::<Text1>(c)
                .map(|r| r.v)
        })
        .await
        .ok()
        .flatten()
        .map(gatehouse_domain::PasswordHash::new)
    }

    pub async fn set_password_hash(
        &self,
        user: gatehouse_domain::UserId,
        hash: gatehouse_domain::PasswordHash,
    ) {
        self.set_user_column("password_hash = ?", hash.as_str().to_owned(), user)
            .await;
    }

    async fn set_user_column(
        &self,
        set: &'static str,
        value: String,
        user: gatehouse_domain::UserId,
    ) {
        let id = user.to_string();
        self.write(move |c| {
            diesel::sql_query(format!("UPDATE users SET {set} WHERE id = ?"))
                .bind::<diesel::sql_types::Text, _>(value)
                .bind::<diesel::sql_types::Text, _>(id)
                .execute(c)
                .map(|_| ())
        })
        .await
        .unwrap();
    }
}
