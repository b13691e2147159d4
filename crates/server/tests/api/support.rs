use std::collections::HashMap;

use actix_web::dev::ServerHandle;
use awc::http::StatusCode;
use diesel_async::{AsyncConnection, AsyncPgConnection};
pub use gatehouse_adapter_postgres::test_support::TestDatabase as PgDatabase;
pub use gatehouse_adapter_sqlite::test_support::TestDatabase as SqliteDatabase;
use gatehouse_server::{Application, Config};
use serde_json::{Value, json};

pub const SECRET: &str = "http-test-secret-that-is-long-enough-0123";
/// Not the JWT secret: `serve` refuses one value for both.
pub const DATA_KEY: &str = "http-test-data-key-that-is-long-enough-4567";
pub const PASSWORD: &str = "correct horse battery staple";

/// `GATEHOUSE_TEST_STORE=sqlite` runs the HTTP suite on the embedded store;
/// by default it runs on PostgreSQL. `just test` runs it both ways.
pub fn sqlite_selected() -> bool {
    std::env::var("GATEHOUSE_TEST_STORE").is_ok_and(|store| store == "sqlite")
}

/// A fresh database of the store the suite runs on.
#[derive(Debug)]
pub enum TestDb {
    Postgres(PgDatabase),
    Sqlite(SqliteDatabase),
}

impl TestDb {
    pub async fn create() -> Self {
        if sqlite_selected() {
            Self::Sqlite(SqliteDatabase::create().await)
        } else {
            Self::Postgres(PgDatabase::create().await)
        }
    }

    pub fn url(&self) -> String {
        match self {
            Self::Postgres(db) => db.url.clone(),
            Self::Sqlite(db) => db.url(),
        }
    }

    /// The PostgreSQL database, for the tests of what only it can do
    /// (dropping it under the running service, say).
    pub fn postgres(&self) -> Option<&PgDatabase> {
        match self {
            Self::Postgres(db) => Some(db),
            Self::Sqlite(_) => None,
        }
    }

    pub fn sqlite(&self) -> Option<&SqliteDatabase> {
        match self {
            Self::Postgres(_) => None,
            Self::Sqlite(db) => Some(db),
        }
    }
}

pub struct TestApp {
    pub address: String,
    /// Where mails go as `.eml` files when no `AUTH_SMTP_URL` is given.
    pub mail_dir: std::path::PathBuf,
    pub db: std::sync::Arc<TestDb>,
    pub client: awc::Client,
    pub handle: ServerHandle,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // The stop command is sent at once; the returned future only waits
        // for completion, which a finished test does not need.
        drop(self.handle.stop(false));
        let _ = std::fs::remove_dir_all(&self.mail_dir);
    }
}

pub struct Response {
    pub status: StatusCode,
    pub headers: awc::http::header::HeaderMap,
    pub body: Value,
}

impl Response {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.code(), code, "{}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        for field in ["type", "title", "detail"] {
            assert!(
                self.body[field].is_string(),
                "problem lacks {field}: {}",
                self.body
            );
        }
        assert_eq!(self.body["status"], status);
    }
}

pub fn test_config(db_url: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", db_url.to_owned()),
        ("AUTH_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("AUTH_JWT_SECRET", SECRET.to_owned()),
        ("AUTH_DATA_KEY", DATA_KEY.to_owned()),
        // Cheap hashing keeps the suite fast; the cost is a parameter, not the logic.
        ("AUTH_ARGON2_MEMORY_KIB", "64".to_owned()),
        ("AUTH_ARGON2_ITERATIONS", "1".to_owned()),
        ("AUTH_ARGON2_MAX_CONCURRENT", "4".to_owned()),
        // Each app its own mail folder, and a sender quick to look and retry.
        (
            "AUTH_MAIL_DIR",
            std::env::temp_dir()
                .join(format!("gatehouse-mail-{}", uuid::Uuid::now_v7()))
                .display()
                .to_string(),
        ),
        ("AUTH_MAIL_POLL_MS", "50".to_owned()),
        ("AUTH_MAIL_RETRY_BASE_MS", "200".to_owned()),
    ]);
    for (k, v) in extra {
        vars.insert(k, (*v).to_owned());
    }
    Config::from_source(|name| vars.get(name).cloned()).unwrap()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra: &[(&str, &str)]) -> TestApp {
    let db = std::sync::Arc::new(TestDb::create().await);
    spawn_on(db, extra).await
}

/// Another instance of the service on the same database.
pub async fn spawn_on(db: std::sync::Arc<TestDb>, extra: &[(&str, &str)]) -> TestApp {
    let config = test_config(&db.url(), extra);
    let app = Application::build(&config).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        mail_dir: config.mail.dir.clone(),
        db,
        client: awc::Client::default(),
        handle,
    }
}

async fn read(
    mut response: awc::ClientResponse<
        impl futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>>
        + Unpin,
    >,
) -> Response {
    let bytes = response.body().limit(1 << 20).await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Response {
        status: response.status(),
        headers: response.headers().clone(),
        body,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        read(
            self.client
                .post(self.url(path))
                .send_json(body)
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Response {
        let mut request = self.client.post(self.url(path));
        if let Some(ct) = content_type {
            request = request.insert_header(("content-type", ct));
        }
        read(request.send_body(body).await.unwrap()).await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = bearer {
            request = request.insert_header(("authorization", format!("Bearer {token}")));
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn put(&self, path: &str, bearer: &str, body: &Value) -> Response {
        read(
            self.client
                .put(self.url(path))
                .insert_header(("authorization", format!("Bearer {bearer}")))
                .send_json(body)
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn patch(&self, path: &str, bearer: &str, body: &Value) -> Response {
        read(
            self.client
                .patch(self.url(path))
                .insert_header(("authorization", format!("Bearer {bearer}")))
                .send_json(body)
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn delete(&self, path: &str, bearer: &str) -> Response {
        read(
            self.client
                .delete(self.url(path))
                .insert_header(("authorization", format!("Bearer {bearer}")))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn get_with_header(&self, path: &str, name: &str, value: &str) -> Response {
        read(
            self.client
                .get(self.url(path))
                .insert_header((name, value))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post_from(&self, path: &str, forwarded_for: &str, body: &Value) -> Response {
        read(
            self.client
                .post(self.url(path))
                .insert_header(("x-forwarded-for", forwarded_for))
                .send_json(body)
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post_as(&self, path: &str, bearer: &str, body: &Value) -> Response {
        read(
            self.client
                .post(self.url(path))
                .insert_header(("authorization", format!("Bearer {bearer}")))
                .send_json(body)
                .await
                .unwrap(),
        )
        .await
    }

    /// Waits until `sql` counts at least `n`, or panics after `limit`:
    /// for what the background sender does, which no response reports.
    pub async fn until_count(&self, sql: &str, n: i64, limit: std::time::Duration) {
        let deadline = std::time::Instant::now() + limit;
        loop {
            let found = self.count(sql).await;
            if found >= n {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{found} < {n} after {limit:?}: {sql}"
            );
            actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn register(&self, email: &str) -> Response {
        self.post(
            "/v1/auth/register",
            &json!({ "email": email, "password": PASSWORD }),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/v1/auth/login",
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    pub async fn refresh(&self, token: &str) -> Response {
        self.post("/v1/auth/refresh", &json!({ "refresh_token": token }))
            .await
    }

    /// Runs SQL against this app's database (to set up states no endpoint makes yet).
    pub async fn sql(&self, sql: &str) {
        let db = match &*self.db {
            TestDb::Sqlite(db) => return db.execute(sql).await,
            TestDb::Postgres(db) => db,
        };
        let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
        diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn)
            .await
            .unwrap();
    }

    /// Marks the account's email verified, as following its mailed link
    /// does (the link itself is tested in `mail.rs`): enrolling MFA needs it.
    pub async fn mark_verified(&self, email: &str) {
        let at = match &*self.db {
            TestDb::Sqlite(_) => "1",
            TestDb::Postgres(_) => "now()",
        };
        self.sql(&format!(
            "UPDATE users SET email_verified_at = {at} WHERE email = '{email}'"
        ))
        .await;
    }

    pub async fn count(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let db = match &*self.db {
            TestDb::Sqlite(db) => return db.count(sql).await,
            TestDb::Postgres(db) => db,
        };
        let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
        diesel_async::RunQueryDsl::get_result::<Count>(diesel::sql_query(sql), &mut conn)
            .await
            .unwrap()
            .n
    }
}

pub fn str_of<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field} in {body}"))
}
