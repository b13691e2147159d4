//! Refresh rotation where PostgreSQL's own locking decides: the family's
//! one-current-token constraint, and statements that waited on a lock
//! (the races every store must win are in the store contract).

use std::sync::Arc;
use std::time::Duration;

use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_application::AuthPolicy;
use gatehouse_application::use_cases::{RotateRefreshToken, RotateRefreshTokenError};

use crate::support::*;

/// Polls (bounded, about 5 s) until a statement on this test's database
/// waits for a row lock: the point a race test needs before it lets the
/// lock holder commit.
async fn until_a_statement_waits_on_a_lock(db: &TestDatabase) {
    for _ in 0..500 {
        let waiting = count(
            db,
            "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
        )
        .await;
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no statement ever waited on the lock");
}

async fn refreshed_events(db: &TestDatabase) -> i64 {
    count(
        db,
        "SELECT count(*) AS n FROM audit_events WHERE kind = 'token.refreshed'",
    )
    .await
}

#[tokio::test]
async fn the_database_refuses_a_second_current_token_in_a_family() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    register(&ports, "fork@example.com").await;
    let mut conn =
        <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(&db.url)
            .await
            .unwrap();
    let result = diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO refresh_tokens (id, session_id, digest, issued_at, expires_at) \
             SELECT gen_random_uuid(), session_id, sha256('x'::bytea), now(), now() + interval '1 hour' FROM refresh_tokens",
        ),
        &mut conn,
    )
    .await;
    assert!(
        result.is_err(),
        "a forked family must be rejected by the schema"
    );
}

/// The one-statement fast path that waits on a concurrent rotation reads
/// the token as it stood when the statement began: "current". The use case
/// must not trust that read, and decides again under the lock, where the
/// token is rotated and the answer is the first rotation's successor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_path_that_waited_on_a_rotation_replays_its_successor() {
    use gatehouse_application::ports::{
        Clock, NewRefreshToken, OpaqueTokens, Rotation, SessionTx, Transactional, UnitOfWork,
    };
    use gatehouse_domain::{AuditEvent, AuditKind};

    let db = TestDatabase::create().await;
    let ports = Arc::new(ports(&db, AuthPolicy::default()));
    let presented = register(&ports, "waiter@example.com")
        .await
        .tokens
        .refresh_token
        .expose()
        .to_owned();

    // Another request holds the token's lock, mid-rotation.
    let mut holder = ports.store.begin().await.unwrap();
    let token = holder
        .lock_token(&ports.opaque.digest(&presented))
        .await
        .unwrap()
        .unwrap();
    let waiter = {
        let (ports, presented) = (Arc::clone(&ports), presented.clone());
        tokio::spawn(async move {
            RotateRefreshToken::new(&*ports)
                .execute(&presented, &client())
                .await
        })
    };
    // Until the waiter's statement is blocked on that lock.
    until_a_statement_waits_on_a_lock(&db).await;

    let now = ports.clock.now();
    let successor = ports.opaque.generate().unwrap();
    holder
        .rotate(Rotation {
            token_id: token.token_id,
            session_id: token.session_id,
            at: now,
            sealed_successor: Some(ports.opaque.seal(&presented, &successor).unwrap()),
            successor: NewRefreshToken {
                id: uuid::Uuid::now_v7(),
                digest: ports.opaque.digest(successor.expose()),
                issued_at: now,
                expires_at: token.presented.expires_at,
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
    holder.commit().await.unwrap();

    let answer = waiter.await.unwrap().unwrap();
    assert_eq!(answer.refresh_token.expose(), successor.expose());
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM refresh_tokens").await,
        2
    );
    assert_eq!(refreshed_events(&db).await, 1);
}

/// A refresh that waits on a logout of its session must not win once the
/// logout commits: no successor, no 200 with tokens of a dead session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_waiting_on_a_logout_loses_to_it() {
    use gatehouse_application::ports::{
        Clock, OpaqueTokens, RevokeReason, SessionTx, Transactional, UnitOfWork,
    };

    let db = TestDatabase::create().await;
    let ports = Arc::new(ports(&db, AuthPolicy::default()));
    let presented = register(&ports, "leaving@example.com")
        .await
        .tokens
        .refresh_token
        .expose()
        .to_owned();

    // A logout of this session, mid-way: locked and revoked, not committed.
    let mut logout = ports.store.begin().await.unwrap();
    let token = logout
        .lock_token(&ports.opaque.digest(&presented))
        .await
        .unwrap()
        .unwrap();
    logout
        .revoke_session(token.session_id, ports.clock.now(), RevokeReason::Logout)
        .await
        .unwrap();
    let refresh = {
        let (ports, presented) = (Arc::clone(&ports), presented.clone());
        tokio::spawn(async move {
            RotateRefreshToken::new(&*ports)
                .execute(&presented, &client())
                .await
        })
    };
    until_a_statement_waits_on_a_lock(&db).await;
    logout.commit().await.unwrap();

    let answer = refresh.await.unwrap();
    assert!(
        matches!(answer, Err(RotateRefreshTokenError::Invalid)),
        "{:?}",
        answer.map(|_| "a token pair")
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM refresh_tokens").await,
        1
    );
    assert_eq!(refreshed_events(&db).await, 0);
}

/// A logout that waited on a rotation of its session still erases the
/// successor the rotation kept: the rotation committed after the logout's
/// statement took its snapshot, so only re-reading the current token's row
/// (the erase takes it as a candidate) finds what it kept. The same holds
/// for ending every session of the user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_that_waited_on_a_rotation_erases_what_it_kept() {
    use gatehouse_application::ports::{
        Clock, NewRefreshToken, OpaqueTokens, RevokeReason, Rotation, SessionRevocation,
        SessionStore, SessionTx, Transactional, UnitOfWork,
    };
    use gatehouse_domain::{AuditEvent, AuditKind};

    let db = TestDatabase::create().await;
    let ports = Arc::new(ports(&db, AuthPolicy::default()));
    let kept = "SELECT count(*) AS n FROM refresh_tokens WHERE sealed_successor IS NOT NULL";
    for everywhere in [false, true] {
        let signed_up = register(&ports, &format!("held-{everywhere}@example.com")).await;
        let presented = signed_up.tokens.refresh_token.expose().to_owned();
        let now = ports.clock.now();

        // A rotation, mid-way: the token locked and retired with a kept
        // successor, not committed.
        let mut rotation = ports.store.begin().await.unwrap();
        let token = rotation
            .lock_token(&ports.opaque.digest(&presented))
            .await
            .unwrap()
            .unwrap();
        rotation
            .rotate(Rotation {
                token_id: token.token_id,
                session_id: token.session_id,
                at: now,
                sealed_successor: Some(vec![9; 48]),
                successor: NewRefreshToken {
                    id: uuid::Uuid::now_v7(),
                    digest: ports.opaque.digest(&format!("successor-{everywhere}")),
                    issued_at: now,
                    expires_at: now + chrono::Duration::hours(1),
                },
                audit: None,
            })
            .await
            .unwrap();
        let revocation = SessionRevocation {
            user_id: signed_up.user.id,
            at: now,
            reason: RevokeReason::Logout,
            audit: AuditEvent::new(
                AuditKind::SessionRevoked,
                now,
                Some(signed_up.user.id),
                &client(),
            ),
        };
        let ending = {
            let (ports, session_id) = (Arc::clone(&ports), token.session_id);
            tokio::spawn(async move {
                if everywhere {
                    ports
                        .store
                        .revoke_all_sessions(revocation)
                        .await
                        .map(|n| n > 0)
                } else {
                    ports.store.revoke_own_session(session_id, revocation).await
                }
            })
        };
        until_a_statement_waits_on_a_lock(&db).await;
        rotation.commit().await.unwrap();
        assert!(ending.await.unwrap().unwrap(), "the session was ended");
        assert_eq!(count(&db, kept).await, 0, "everywhere: {everywhere}");
    }
}
