//! What the framework rejects still speaks problem+json; health and the
//! OpenAPI document.

use serde_json::json;

use crate::support::*;

#[actix_web::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let app = spawn_app().await;
    app.get("/v1/nothing-here", None)
        .await
        .assert_problem(404, "NOT_FOUND");
    let r = app.get("/v1/auth/login", None).await;
    r.assert_problem(405, "METHOD_NOT_ALLOWED");
    // RFC 9110: a 405 says what is allowed.
    assert_eq!(r.header("allow"), Some("POST"));
    let r = app.get("/v1/users/me/sessions/not-even-a-uuid", None).await;
    r.assert_problem(405, "METHOD_NOT_ALLOWED");
    assert_eq!(r.header("allow"), Some("DELETE"));
}

#[actix_web::test]
async fn malformed_json_is_400_and_wrong_types_422() {
    let app = spawn_app().await;
    let r = app
        .post_raw(
            "/v1/auth/register",
            Some("application/json"),
            b"{\"email\": ".to_vec(),
        )
        .await;
    r.assert_problem(400, "MALFORMED_REQUEST");
    let r = app
        .post(
            "/v1/auth/register",
            &json!({ "email": 42, "password": ["secret value"] }),
        )
        .await;
    r.assert_problem(422, "VALIDATION_FAILED");
    assert!(
        !r.body.to_string().contains("secret value"),
        "input is never echoed"
    );
}

#[actix_web::test]
async fn other_content_types_are_415_and_a_missing_body_400() {
    let app = spawn_app().await;
    let body =
        serde_json::to_vec(&json!({ "email": "ada@example.com", "password": PASSWORD })).unwrap();
    app.post_raw("/v1/auth/register", Some("text/plain"), body)
        .await
        .assert_problem(415, "UNSUPPORTED_MEDIA_TYPE");
    app.post_raw("/v1/auth/refresh", None, Vec::new())
        .await
        .assert_problem(400, "MALFORMED_REQUEST");
    assert_eq!(app.count("SELECT count(*) AS n FROM users").await, 0);
}

#[actix_web::test]
async fn bodies_over_64_kib_are_413() {
    let app = spawn_app().await;
    let huge = json!({ "email": "ada@example.com", "password": "x".repeat(70 * 1024) });
    app.post("/v1/auth/register", &huge)
        .await
        .assert_problem(413, "PAYLOAD_TOO_LARGE");
}

#[actix_web::test]
async fn health_probes_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/health/live", None).await.status.as_u16(), 200);
    assert_eq!(app.get("/health/ready", None).await.status.as_u16(), 200);
}

async fn admin_execute(db: &PgDatabase, sql: String) {
    let admin = db.url.replace(&db.name, "postgres");
    let mut conn =
        <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(&admin)
            .await
            .unwrap();
    diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn)
        .await
        .unwrap();
}

#[actix_web::test]
async fn database_loss_is_a_fast_503_and_the_service_recovers_by_itself() {
    let app = spawn_app().await;
    // The SQLite run has its own case: a write lock held too long.
    let Some(db) = app.db.postgres() else {
        return;
    };
    app.register("ada@example.com").await;
    // Take the database away from under the running service.
    admin_execute(db, format!("DROP DATABASE \"{}\" WITH (FORCE)", db.name)).await;
    let started = std::time::Instant::now();
    let r = app.get("/health/ready", None).await;
    r.assert_problem(503, "SERVICE_UNAVAILABLE");
    assert!(r.header("retry-after").is_some());
    app.login("ada@example.com", PASSWORD)
        .await
        .assert_problem(503, "SERVICE_UNAVAILABLE");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "503 must come from bounded timeouts"
    );
    assert_eq!(app.get("/health/live", None).await.status.as_u16(), 200);

    // Bring an (empty, migrated) database back under the same name.
    admin_execute(
        db,
        format!(
            "CREATE DATABASE \"{}\" TEMPLATE \"{}\"",
            db.name,
            template_of(db).await
        ),
    )
    .await;
    // Dead pooled connections are discarded as they fail; each attempt can
    // cost at most one of them, so this bound is deterministic.
    let mut recovered = false;
    for _ in 0..40 {
        if app.get("/health/ready", None).await.status.as_u16() == 200 {
            recovered = true;
            break;
        }
    }
    assert!(
        recovered,
        "the service did not recover after the database returned"
    );
    assert_eq!(app.register("ada@example.com").await.status.as_u16(), 201);
}

/// The migrated template the test databases are cloned from.
async fn template_of(db: &PgDatabase) -> String {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let admin = db.url.replace(&db.name, "postgres");
    let mut conn =
        <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(&admin)
            .await
            .unwrap();
    let row: Name = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'gatehouse_tpl_%' AND datname NOT LIKE '%_building' ORDER BY oid DESC LIMIT 1"),
        &mut conn,
    )
    .await
    .unwrap();
    row.datname
}

#[actix_web::test]
async fn openapi_documents_every_endpoint() {
    let app = spawn_app().await;
    let r = app.get("/openapi.json", None).await;
    assert_eq!(r.status.as_u16(), 200);
    assert!(str_of(&r.body, "openapi").starts_with("3.1"));
    // Every operation of the contract this version serves.
    let served = [
        ("post", "/v1/auth/register"),
        ("post", "/v1/auth/login"),
        ("post", "/v1/auth/reauth"),
        ("post", "/v1/auth/refresh"),
        ("post", "/v1/auth/logout"),
        ("post", "/v1/auth/introspect"),
        ("post", "/v1/auth/password/forgot"),
        ("post", "/v1/auth/password/reset"),
        ("post", "/v1/auth/email/verify"),
        ("get", "/v1/users/me"),
        ("patch", "/v1/users/me"),
        ("put", "/v1/users/me/password"),
        ("post", "/v1/users/me/email/verify/resend"),
        ("get", "/v1/users/me/sessions"),
        ("delete", "/v1/users/me/sessions"),
        ("delete", "/v1/users/me/sessions/{id}"),
        ("post", "/v1/users/me/api-keys"),
        ("get", "/v1/users/me/api-keys"),
        ("delete", "/v1/users/me/api-keys/{id}"),
        ("post", "/v1/users/me/mfa/totp/setup"),
        ("post", "/v1/users/me/mfa/totp/enable"),
        ("delete", "/v1/users/me/mfa/totp"),
        ("get", "/v1/admin/users"),
        ("get", "/v1/admin/users/{id}"),
        ("patch", "/v1/admin/users/{id}"),
        ("get", "/v1/admin/users/{id}/sessions"),
        ("delete", "/v1/admin/users/{id}/sessions"),
        ("post", "/v1/admin/users/{id}/password-reset"),
        ("delete", "/v1/admin/users/{id}/mfa"),
        ("get", "/v1/admin/audit-events"),
        ("get", "/health/live"),
        ("get", "/health/ready"),
        ("get", "/.well-known/jwks.json"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
    ];
    let paths = r.body["paths"].as_object().unwrap();
    let mut documented = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    for (method, path) in served {
        assert!(
            documented.contains(&(method.to_owned(), path.to_owned())),
            "{method} {path} is served but not documented"
        );
    }
    // And the other way: everything documented is routed. Without
    // credentials or a body, a routed operation answers 400, 401, 415,
    // 422 and so on; only an unrouted one meets the 404 of the fallback.
    for (method, path) in &documented {
        let url = app.url(&path.replace("{id}", &uuid::Uuid::now_v7().to_string()));
        let method = awc::http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), url)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!(
            status != 404 && status != 405,
            "{method} {path} is documented but not routed ({status})"
        );
        assert!(
            served
                .iter()
                .any(|(m, p)| m.eq_ignore_ascii_case(method.as_str()) && p == path),
            "{method} {path} is documented but not in the list above"
        );
    }
    assert!(r.body["components"]["schemas"]["Problem"].is_object());

    // The document tells a client the truth about bodies: required fields
    // are required, not nullable, and a body that is not JSON is a
    // documented 400.
    let schemas = &r.body["components"]["schemas"];
    assert_eq!(
        schemas["RegisterBody"]["required"],
        json!(["email", "password"])
    );
    assert_eq!(
        schemas["RegisterBody"]["properties"]["email"]["type"],
        "string"
    );
    assert_eq!(
        schemas["RegisterBody"]["properties"]["email"]["format"],
        "email"
    );
    assert_eq!(
        schemas["ResetPasswordBody"]["required"],
        json!(["token", "new_password"])
    );
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        operation["responses"][status].is_object(),
                        "{method} {path} does not document {status}"
                    );
                }
            }
        }
    }
    // Links lead a stateful client from a token pair to what it can do.
    let links = &paths["/v1/auth/login"]["post"]["responses"]["200"]["links"];
    assert_eq!(links["Refresh"]["operationId"], "refresh");
    assert_eq!(
        links["Me"]["parameters"]["header.Authorization"],
        "Bearer {$response.body#/access_token}"
    );
}

#[actix_web::test]
async fn every_answer_says_nosniff() {
    let app = spawn_app().await;
    for path in ["/health/live", "/no/such/route", "/v1/users/me"] {
        let r = app.get(path, None).await;
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
}

#[actix_web::test]
async fn cors_answers_configured_origins_only() {
    let app = spawn_app_with(&[("AUTH_CORS_ORIGINS", "https://app.example.com")]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(awc::http::Method::OPTIONS, app.url("/v1/auth/login"))
            .insert_header(("origin", origin))
            .insert_header(("access-control-request-method", "POST"))
            .insert_header(("access-control-request-headers", "content-type"))
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    let headers = allowed.headers();
    assert_eq!(
        headers.get("access-control-allow-origin").unwrap(),
        "https://app.example.com"
    );
    assert!(headers.get("access-control-allow-credentials").is_none());
    assert_eq!(headers.get("access-control-max-age").unwrap(), "3600");
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let without = spawn_app().await;
    let r = without
        .client
        .get(without.url("/health/live"))
        .insert_header(("origin", "https://app.example.com"))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

/// `serve` waits for a database that is not there yet, and starts once it
/// is (compose and Kubernetes start things in any order).
#[actix_web::test]
async fn the_service_waits_for_a_database_that_comes_up_later() {
    use gatehouse_adapter_postgres::test_support::TestDatabase;

    let db = TestDatabase::create().await;
    let parked = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = parked.local_addr().unwrap().port();
    drop(parked);
    // The same database, reached through a port where nothing listens yet.
    let (scheme_user, rest) = db.url.split_once('@').unwrap();
    let (real_host, path) = rest.split_once('/').unwrap();
    let url = format!("{scheme_user}@127.0.0.1:{port}/{path}");
    let config = test_config(&url, &[]);
    let starting = actix_web::rt::spawn(async move {
        gatehouse_server::Application::build(&config)
            .await
            .map(|app| app.port())
    });

    // The first attempts are refused; the start is still waiting.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1_500)).await;
    if starting.is_finished() {
        panic!("serve gave up instead of waiting: {:?}", starting.await);
    }

    // The database "comes up": a proxy on that port to the real one.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let real_host = real_host.to_owned();
    actix_web::rt::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let real_host = real_host.clone();
            actix_web::rt::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(real_host.as_str()).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    let started = tokio::time::timeout(std::time::Duration::from_secs(60), starting)
        .await
        .expect("serve started once the database was up")
        .unwrap();
    assert!(started.is_ok(), "{started:?}");
}

/// SQLite has one writer at a time: a writer that holds the lock longer
/// than `DATABASE_LOCK_TIMEOUT_MS` makes writes a fast 503, reads go on
/// (WAL), and writes work again the moment it lets go.
#[actix_web::test]
async fn a_write_lock_held_elsewhere_is_a_fast_503_and_writes_resume() {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, SqliteConnection};

    let app = spawn_app_with(&[("DATABASE_LOCK_TIMEOUT_MS", "300")]).await;
    // The PostgreSQL run has its own case: the database dropped.
    let Some(db) = app.db.sqlite() else {
        return;
    };
    let registered = app.register("ada@example.com").await;
    assert_eq!(registered.status.as_u16(), 201);
    let access = str_of(&registered.body, "access_token").to_owned();
    let mut other = SqliteConnection::establish(&db.path().display().to_string()).unwrap();
    other.batch_execute("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    app.register("bob@example.com")
        .await
        .assert_problem(503, "SERVICE_UNAVAILABLE");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "503 must come from the bounded lock wait"
    );
    assert_eq!(
        app.get("/v1/users/me", Some(&access)).await.status.as_u16(),
        200
    );
    other.batch_execute("ROLLBACK").unwrap();
    assert_eq!(app.register("bob@example.com").await.status.as_u16(), 201);
}
