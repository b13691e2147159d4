//! Database trouble is a fast `Unavailable` (503), never a hang or a 500:
//! each server-side timeout set on the pooled connections, each race
//! PostgreSQL settles by aborting, and a rule checked at commit.

use std::time::{Duration, Instant};

use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncPgConnection, RunQueryDsl, TransactionManager,
};
use gatehouse_adapter_postgres::test_support::{TestDatabase, port_error_of};
use gatehouse_adapter_postgres::{PgConfig, PgStore};
use gatehouse_application::AuthPolicy;
use gatehouse_application::ports::{
    NewRefreshToken, PortError, Rotation, SessionTx, TokenDigest, Transactional, UnitOfWork,
    UserStore,
};
use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, PasswordHash};

use crate::support::*;

fn store_with(db: &TestDatabase, tune: impl FnOnce(&mut PgConfig)) -> PgStore {
    let mut config = db.config();
    tune(&mut config);
    PgStore::connect(&config)
}

/// Holds the user's row lock on a connection of its own until dropped.
async fn hold_user_lock(db: &TestDatabase, email: &str) -> AsyncPgConnection {
    let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
    AnsiTransactionManager::begin_transaction(&mut conn)
        .await
        .unwrap();
    diesel::sql_query(format!(
        "SELECT 1 FROM users WHERE email = '{email}' FOR UPDATE"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    conn
}

async fn blocked_update(store: &PgStore, ports: &PgPorts, email: &str) -> Result<bool, PortError> {
    let user = ports
        .store
        .find_credentials(&gatehouse_domain::Email::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    store
        .replace_password_hash(
            user.user.id,
            &user.password_hash,
            &PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$bmV3"),
        )
        .await
}

#[tokio::test]
async fn a_lock_waited_for_too_long_is_unavailable() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    register(&ports, "locked@example.com").await;
    let _holder = hold_user_lock(&db, "locked@example.com").await;
    let store = store_with(&db, |c| c.lock_timeout = Duration::from_millis(200));
    let started = Instant::now();
    let result = blocked_update(&store, &ports, "locked@example.com").await;
    assert!(
        matches!(result, Err(PortError::Unavailable(_))),
        "{result:?}"
    );
    // The server gave up, not the client's 5 s bound.
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn a_statement_running_too_long_is_unavailable() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    register(&ports, "slow@example.com").await;
    let _holder = hold_user_lock(&db, "slow@example.com").await;
    let store = store_with(&db, |c| {
        c.lock_timeout = Duration::from_secs(30);
        c.statement_timeout = Duration::from_millis(200);
    });
    let started = Instant::now();
    let result = blocked_update(&store, &ports, "slow@example.com").await;
    assert!(
        matches!(result, Err(PortError::Unavailable(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    // The same pool goes on serving.
    store.ping().await.unwrap();
}

#[tokio::test]
async fn a_unit_of_work_left_idle_is_ended_by_the_server() {
    let db = TestDatabase::create().await;
    let store = store_with(&db, |c| {
        c.idle_in_transaction_timeout = Duration::from_millis(200);
    });
    let mut tx = store.begin().await.unwrap();
    tx.lock_token(&TokenDigest(vec![0; 32])).await.unwrap();
    // Waits for the server's timeout to end the transaction (not a race:
    // nothing else happens meanwhile).
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let result = tx.commit().await;
    assert!(
        matches!(result, Err(PortError::Unavailable(_))),
        "{result:?}"
    );
    store.ping().await.unwrap();
}

/// A second live token in a family is refused at commit (a deferred
/// rule): the unit of work's writes are undone and the use case hears
/// `Conflict`, to decide again, not `Unexpected`.
#[tokio::test]
async fn the_one_live_token_rule_at_commit_is_a_conflict() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let registered = register(&ports, "fork@example.com").await;
    let digest = gatehouse_application::ports::OpaqueTokens::digest(
        &ports.opaque,
        registered.tokens.refresh_token.expose(),
    );
    let mut tx = ports.store.begin().await.unwrap();
    let token = tx.lock_token(&digest).await.unwrap().unwrap();
    let now = chrono::Utc::now();
    tx.rotate(Rotation {
        // Not the live token: it stays live, and the successor is a second one.
        token_id: uuid::Uuid::now_v7(),
        session_id: token.session_id,
        at: now,
        sealed_successor: None,
        successor: NewRefreshToken {
            id: uuid::Uuid::now_v7(),
            digest: TokenDigest(vec![9; 32]),
            issued_at: now,
            expires_at: now + chrono::Duration::hours(1),
        },
        audit: Some(AuditEvent::new(
            AuditKind::TokenRefreshed,
            now,
            None,
            &ClientInfo::default(),
        )),
    })
    .await
    .unwrap();
    let result = tx.commit().await;
    assert!(matches!(result, Err(PortError::Conflict(_))), "{result:?}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM refresh_tokens WHERE rotated_at IS NULL"
        )
        .await,
        1
    );
}

/// A real deadlock, as PostgreSQL reports it, is a lost race: tried once
/// more by the store, then `Unavailable`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_deadlock_is_unavailable() {
    let db = TestDatabase::create().await;
    let mut a = AsyncPgConnection::establish(&db.url).await.unwrap();
    let mut b = AsyncPgConnection::establish(&db.url).await.unwrap();
    for (conn, key) in [(&mut a, 1), (&mut b, 2)] {
        AnsiTransactionManager::begin_transaction(conn)
            .await
            .unwrap();
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({key})"))
            .execute(conn)
            .await
            .unwrap();
    }
    let first = diesel::sql_query("SELECT pg_advisory_xact_lock(2)").execute(&mut a);
    let second = diesel::sql_query("SELECT pg_advisory_xact_lock(1)").execute(&mut b);
    let (first, second) = tokio::join!(first, second);
    let error = first
        .err()
        .or(second.err())
        .expect("PostgreSQL breaks the cycle");
    assert!(error.to_string().contains("deadlock"), "{error}");
    assert!(matches!(port_error_of(error), PortError::Unavailable(_)));
}

/// A real serialization failure likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_serialization_failure_is_unavailable() {
    let db = TestDatabase::create().await;
    let mut setup = AsyncPgConnection::establish(&db.url).await.unwrap();
    for sql in [
        "CREATE TABLE counter (n int)",
        "INSERT INTO counter VALUES (0)",
    ] {
        diesel::sql_query(sql).execute(&mut setup).await.unwrap();
    }
    let mut a = AsyncPgConnection::establish(&db.url).await.unwrap();
    let mut b = AsyncPgConnection::establish(&db.url).await.unwrap();
    for conn in [&mut a, &mut b] {
        diesel::sql_query("BEGIN ISOLATION LEVEL SERIALIZABLE")
            .execute(conn)
            .await
            .unwrap();
        diesel::sql_query("SELECT sum(n) FROM counter")
            .execute(conn)
            .await
            .unwrap();
    }
    diesel::sql_query("UPDATE counter SET n = n + 1")
        .execute(&mut a)
        .await
        .unwrap();
    diesel::sql_query("COMMIT").execute(&mut a).await.unwrap();
    let error = diesel::sql_query("UPDATE counter SET n = n + 1")
        .execute(&mut b)
        .await
        .expect_err("the second writer must not commit a stale read");
    assert!(error.to_string().contains("serialize"), "{error}");
    assert!(matches!(port_error_of(error), PortError::Unavailable(_)));
}
