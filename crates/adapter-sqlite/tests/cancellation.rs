//! A store call its caller stops waiting for (a client gone, a timeout)
//! must not panic the caller's current-thread runtime, as actix workers
//! are, and must give its connection back when the statement ends.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use gatehouse_adapter_sqlite::test_support::TestDatabase;
use gatehouse_adapter_sqlite::{SqliteConfig, SqliteStore};
use gatehouse_application::ports::AuditLog;
use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo};

fn event() -> AuditEvent {
    AuditEvent::new(
        AuditKind::LoginFailed,
        chrono::Utc::now(),
        None,
        &ClientInfo::default(),
    )
}

#[tokio::test(flavor = "current_thread")]
async fn a_call_dropped_mid_statement_finishes_elsewhere_and_frees_its_connection() {
    let db = TestDatabase::create().await;
    let store = SqliteStore::connect(&SqliteConfig {
        max_connections: 1,
        busy_timeout: Duration::from_secs(2),
        ..SqliteConfig::new(db.path())
    })
    .unwrap();
    // Another writer holds the lock: the store's write waits in SQLite.
    let mut other = SqliteConnection::establish(&db.path().display().to_string()).unwrap();
    other.batch_execute("BEGIN IMMEDIATE").unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(200), store.record(event())).await;
    assert!(waited.is_err(), "the write was still waiting for the lock");
    other.batch_execute("COMMIT").unwrap();
    // The abandoned write finished on the store's runtime; the pool's one
    // connection is back, so this call gets it.
    store.record(event()).await.unwrap();
    assert_eq!(
        db.count("SELECT count(*) AS n FROM audit_events").await,
        2,
        "the abandoned write still committed, once"
    );
}

#[tokio::test]
async fn a_write_abandoned_before_its_turn_is_not_made() {
    use gatehouse_application::ports::{AuditTx, Transactional, UnitOfWork};

    let db = TestDatabase::create().await;
    let store = SqliteStore::connect(&SqliteConfig::new(db.path())).unwrap();
    // An open unit of work holds the writer: the next write queues.
    let mut unit = store.begin().await.unwrap();
    unit.record(event()).await.unwrap();
    let abandoned = tokio::time::timeout(Duration::from_millis(100), store.record(event())).await;
    assert!(abandoned.is_err(), "the write was queued behind the unit");
    unit.commit().await.unwrap();
    store.record(event()).await.unwrap();
    assert_eq!(
        db.count("SELECT count(*) AS n FROM audit_events").await,
        2,
        "the unit's row and the last write's; the abandoned one never ran"
    );
}

#[tokio::test]
async fn a_dropped_unit_of_work_rolls_back_and_frees_the_writer() {
    use gatehouse_application::ports::{AuditTx, Transactional};

    let db = TestDatabase::create().await;
    let store = SqliteStore::connect(&SqliteConfig::new(db.path())).unwrap();
    let mut unit = store.begin().await.unwrap();
    unit.record(event()).await.unwrap();
    drop(unit);
    store.record(event()).await.unwrap();
    assert_eq!(db.count("SELECT count(*) AS n FROM audit_events").await, 1);
}
