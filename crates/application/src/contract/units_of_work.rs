//! Units of work: a dropped or rolled-back one leaves no trace.

use gatehouse_domain::*;

use super::support::*;
use crate::ports::*;

/// A unit of work dropped without commit leaves no trace.
pub async fn dropped_units_of_work_leave_no_trace<S: UserStore + SessionStore + Transactional>(
    store: &S,
) {
    let (id, _) = user_with_session(store, "drop@example.com", 20).await;
    {
        let mut tx = store.begin().await.unwrap();
        let token = tx.lock_token(&digest(20)).await.unwrap().unwrap();
        tx.rotate(Rotation {
            token_id: token.token_id,
            session_id: token.session_id,
            at: at(5),
            sealed_successor: None,
            successor: NewRefreshToken {
                id: uuid::Uuid::now_v7(),
                digest: digest(21),
                issued_at: at(5),
                expires_at: at(105),
            },
            audit: Some(audit(AuditKind::TokenRefreshed, id)),
        })
        .await
        .unwrap();
        tx.revoke_session(token.session_id, at(5), RevokeReason::ReuseDetected)
            .await
            .unwrap();
    }
    let mut tx = store.begin().await.unwrap();
    let token = tx.lock_token(&digest(20)).await.unwrap().unwrap();
    assert!(token.presented.rotated_at.is_none() && !token.presented.session_revoked);
    assert!(tx.lock_token(&digest(21)).await.unwrap().is_none());
    tx.commit().await.unwrap();
}

/// An explicit rollback undoes every write of the unit of work and frees
/// its locks at once: the next unit of work finds the token as it was.
pub async fn rolled_back_units_of_work_leave_no_trace<
    S: UserStore + SessionStore + Transactional,
>(
    store: &S,
) {
    let (id, _) = user_with_session(store, "rollback@example.com", 50).await;
    let mut tx = store.begin().await.unwrap();
    let token = tx.lock_token(&digest(50)).await.unwrap().unwrap();
    tx.revoke_session(token.session_id, at(5), RevokeReason::Logout)
        .await
        .unwrap();
    tx.record(audit(AuditKind::SessionRevoked, id))
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let token = tx.lock_token(&digest(50)).await.unwrap().unwrap();
    assert!(!token.presented.session_revoked);
    tx.commit().await.unwrap();
}

/// A store that answers is ready.
pub async fn a_reachable_store_is_ready<S: Readiness>(store: &S) {
    store.ready().await.unwrap();
}
