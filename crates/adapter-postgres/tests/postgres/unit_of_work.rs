//! The unit of work: dropping it without commit leaves nothing behind and
//! releases its locks.

use std::time::Duration;

use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_application::AuthPolicy;
use gatehouse_application::ports::{
    AuditTx, NewRefreshToken, OpaqueTokens, RevokeReason, Rotation, SessionTx, Transactional,
    UnitOfWork,
};
use gatehouse_domain::{AuditEvent, AuditKind};

use crate::support::*;

#[tokio::test]
async fn a_dropped_unit_of_work_leaves_no_trace_and_no_lock() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let registered = register(&ports, "tx@example.com").await;
    let digest = ports
        .opaque
        .digest(registered.tokens.refresh_token.expose());
    let now = chrono::Utc::now();

    {
        let mut tx = ports.store.begin().await.unwrap();
        let token = tx.lock_token(&digest).await.unwrap().unwrap();
        let successor = ports.opaque.generate().unwrap();
        tx.rotate(Rotation {
            token_id: token.token_id,
            session_id: token.session_id,
            at: now,
            sealed_successor: None,
            successor: NewRefreshToken {
                id: uuid::Uuid::now_v7(),
                digest: ports.opaque.digest(successor.expose()),
                issued_at: now,
                expires_at: now + chrono::Duration::hours(1),
            },
            audit: Some(AuditEvent::new(
                AuditKind::TokenRefreshed,
                now,
                Some(token.user_id),
                &client(),
            )),
        })
        .await
        .unwrap();
        tx.revoke_session(token.session_id, now, RevokeReason::Logout)
            .await
            .unwrap();
        tx.record(AuditEvent::new(
            AuditKind::SessionRevoked,
            now,
            Some(token.user_id),
            &client(),
        ))
        .await
        .unwrap();
        // Dropped here, uncommitted.
    }

    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM refresh_tokens").await,
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM refresh_tokens WHERE rotated_at IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM sessions WHERE revoked_at IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM audit_events").await,
        1,
        "only user.registered"
    );

    // The row lock went with it: another unit of work can take the token.
    let mut tx = tokio::time::timeout(Duration::from_secs(5), ports.store.begin())
        .await
        .unwrap()
        .unwrap();
    let locked = tokio::time::timeout(Duration::from_secs(5), tx.lock_token(&digest)).await;
    assert!(
        matches!(locked, Ok(Ok(Some(_)))),
        "token still locked after drop"
    );
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_committed_unit_of_work_is_visible() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let registered = register(&ports, "tx@example.com").await;
    let digest = ports
        .opaque
        .digest(registered.tokens.refresh_token.expose());
    let mut tx = ports.store.begin().await.unwrap();
    let token = tx.lock_token(&digest).await.unwrap().unwrap();
    assert!(!token.presented.session_revoked);
    assert_eq!(token.email.as_str(), "tx@example.com");
    tx.revoke_session(token.session_id, chrono::Utc::now(), RevokeReason::Logout)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM sessions WHERE revoke_reason = 'logout'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_unknown_digest_locks_nothing() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let mut tx = ports.store.begin().await.unwrap();
    assert!(
        tx.lock_token(&ports.opaque.digest("nope"))
            .await
            .unwrap()
            .is_none()
    );
    tx.commit().await.unwrap();
}
