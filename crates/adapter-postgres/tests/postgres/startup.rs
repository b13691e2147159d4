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
