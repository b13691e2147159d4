//! API keys against PostgreSQL: the limit under concurrency, the holder
//! lookup, and a reset revoking them.

use std::sync::Arc;

use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_application::AuthPolicy;
use gatehouse_application::ports::{ApiKeyStore, CreateApiKeyError, NewApiKey, TokenDigest};
use gatehouse_domain::{AuditEvent, AuditKind, UserId};
use tokio::sync::Barrier;

use crate::support::*;

fn key(user_id: UserId, n: u8) -> NewApiKey {
    let now = chrono::Utc::now();
    NewApiKey {
        id: uuid::Uuid::now_v7(),
        user_id,
        name: format!("key {n}"),
        digest: TokenDigest(vec![n; 32]),
        prefix: format!("gk_{n:09}"),
        created_at: now,
        expires_at: None,
        audit: AuditEvent::new(AuditKind::ApiKeyCreated, now, Some(user_id), &client()),
        notice: gatehouse_application::contract::mail::mail_to("keys@example.com", now),
    }
}

/// Parallel creations are counted one after the other: none passes the
/// limit together with another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_creations_stop_at_the_limit() {
    let db = TestDatabase::create().await;
    let ports = Arc::new(ports(&db, AuthPolicy::default()));
    let user = register(&ports, "keys@example.com").await.user.id;
    for n in 0..20 {
        ports.store.create_api_key(key(user, n), 25).await.unwrap();
    }
    let barrier = Arc::new(Barrier::new(10));
    let tasks: Vec<_> = (20..30)
        .map(|n| {
            let (ports, barrier) = (Arc::clone(&ports), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                ports.store.create_api_key(key(user, n), 25).await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(CreateApiKeyError::LimitReached) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(created, 5);
    assert_eq!(count(&db, "SELECT count(*) AS n FROM api_keys").await, 25);
}

#[tokio::test]
async fn a_key_finds_its_holder_and_records_use_once_a_minute() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let user = register(&ports, "holder@example.com").await.user.id;
    let made = key(user, 7);
    ports.store.create_api_key(made.clone(), 25).await.unwrap();
    let now = chrono::Utc::now();
    let holder = ports
        .store
        .find_key_holder(&made.digest, now, now - chrono::Duration::minutes(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((holder.key_id, holder.user.id), (made.id, user));
    let used = "SELECT count(*) AS n FROM api_keys WHERE last_used_at IS NOT NULL";
    assert_eq!(count(&db, used).await, 1);
    // Within the minute, the lookup writes nothing: the row keeps its version.
    let version = "SELECT xmin::text::bigint AS n FROM api_keys";
    let before = count(&db, version).await;
    ports
        .store
        .find_key_holder(&made.digest, now, now - chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(count(&db, version).await, before);
    assert!(
        ports
            .store
            .find_key_holder(&TokenDigest(vec![1; 32]), now, now)
            .await
            .unwrap()
            .is_none()
    );
}
