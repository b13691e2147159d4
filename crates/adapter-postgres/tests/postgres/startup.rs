//! Start-up chores and behaviour when the database is away.

use std::time::{Duration, Instant};

use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_adapter_postgres::{PgConfig, PgStore, ensure_database, run_migrations};
use gatehouse_application::PortError;
use gatehouse_application::ports::UserStore;
use gatehouse_domain::UserId;

#[tokio::test]
async fn migrations_are_idempotent() {
    let db = TestDatabase::create().await;
    let applied = run_migrations(&db.url).await.unwrap();
    assert!(
        applied.is_empty(),
        "the template already holds every migration: {applied:?}"
    );
    db.store().ping().await.unwrap();
}

#[tokio::test]
async fn ensure_database_creates_a_missing_database_once() {
    let db = TestDatabase::create().await;
    // A name of our own, next to the test database, dropped with it below.
    let fresh = db.url.replace(&db.name, &format!("{}_new", db.name));
    ensure_database(&fresh).await.unwrap();
    ensure_database(&fresh).await.unwrap();
    let applied = run_migrations(&fresh).await.unwrap();
    assert!(!applied.is_empty());
    PgStore::connect(&PgConfig::new(fresh.clone()))
        .ping()
        .await
        .unwrap();
    let _cleanup = TestDatabase {
        name: format!("{}_new", db.name),
        url: fresh,
    };
}

#[tokio::test]
async fn an_unreachable_database_is_unavailable_quickly() {
    // Nothing listens on port 1.
    let mut config = PgConfig::new("postgres://postgres@127.0.0.1:1/gatehouse");
    config.acquire_timeout = Duration::from_millis(500);
    let store = PgStore::connect(&config);
    let started = Instant::now();
    assert!(matches!(store.ping().await, Err(PortError::Unavailable(_))));
    assert!(matches!(
        store.find_user(UserId::new()).await,
        Err(PortError::Unavailable(_))
    ));
    // Bounded by the configured timeouts, not by luck: a hang would trip this.
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A role that owns its one database and may create no other (no
/// CREATEDB, no superuser) starts the service: the maintenance database is
/// never needed when the target exists.
#[tokio::test]
async fn a_role_that_owns_only_its_database_can_migrate_and_serve() {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

    let db = TestDatabase::create().await;
    let role = format!("{}_owner", db.name);
    let mut admin = AsyncPgConnection::establish(&db.url).await.unwrap();
    for sql in [
        format!("CREATE ROLE \"{role}\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"),
        "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC".to_owned(),
    ] {
        diesel::sql_query(sql).execute(&mut admin).await.unwrap();
    }
    let owned = format!("{}_owned", db.name);
    diesel::sql_query(format!("CREATE DATABASE \"{owned}\" OWNER \"{role}\""))
        .execute(&mut admin)
        .await
        .unwrap();
    let as_owner = db
        .url
        .replace(&format!("/{}", db.name), &format!("/{owned}"))
        .replacen("postgres@", &format!("{role}@"), 1);
    let outcome = async {
        ensure_database(&as_owner).await?;
        let applied = run_migrations(&as_owner).await?;
        anyhow::ensure!(!applied.is_empty(), "nothing migrated");
        PgStore::connect(&PgConfig::new(as_owner.clone()))
            .find_user(UserId::new())
            .await?;
        // It really cannot create databases: the check above is not moot.
        let mut conn = AsyncPgConnection::establish(&as_owner).await?;
        anyhow::ensure!(
            diesel::sql_query("CREATE DATABASE gatehouse_not_allowed")
                .execute(&mut conn)
                .await
                .is_err(),
            "the role could create a database"
        );
        Ok(())
    }
    .await;
    // Put things back before asserting, so a failure leaves no role behind.
    for sql in [
        "GRANT CONNECT ON DATABASE postgres TO PUBLIC".to_owned(),
        format!("DROP DATABASE IF EXISTS \"{owned}\" WITH (FORCE)"),
        format!("DROP ROLE IF EXISTS \"{role}\""),
    ] {
        diesel::sql_query(sql).execute(&mut admin).await.unwrap();
    }
    outcome.unwrap();
}

/// A database that accepts connections and then says nothing (a
/// blackhole): readiness still answers within a second, unavailable.
#[tokio::test]
async fn readiness_answers_within_a_second_even_from_a_blackhole() {
    use gatehouse_application::ports::Readiness;

    let blackhole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = blackhole.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = blackhole.accept().await {
            held.push(socket);
        }
    });
    let store = PgStore::connect(&PgConfig::new(format!(
        "postgres://postgres@127.0.0.1:{port}/gatehouse"
    )));
    let started = Instant::now();
    let result = store.ready().await;
    assert!(
        matches!(result, Err(PortError::Unavailable(_))),
        "{result:?}"
    );
    // A hang guard with room for a loaded machine; the bound itself is 800 ms.
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// The admin's search by a part of an email is served by the trigram
/// index, wherever the part falls: the adapter's own query shape (a
/// pattern, id order, a page), on enough users for the planner to care.
#[tokio::test]
async fn the_email_search_uses_the_trigram_index() {
    use diesel::QueryableByName;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let db = gatehouse_adapter_postgres::test_support::TestDatabase::create().await;
    let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
    conn.batch_execute(
        "INSERT INTO users (id, email, password_hash, role, created_at, updated_at) \
         SELECT gen_random_uuid(), 'user' || n || '@example' || (n % 997) || '.com', 'x', 'user', now(), now() \
         FROM generate_series(1, 100000) AS n; \
         ANALYZE users",
    )
    .await
    .unwrap();
    let plan: Vec<Plan> = diesel::sql_query(
        "EXPLAIN SELECT id FROM users WHERE email LIKE '%user12345@%' ORDER BY id LIMIT 51",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let plan: String = plan.into_iter().map(|p| p.line + "\n").collect();
    assert!(plan.contains("users_email_trgm_idx"), "{plan}");
}
