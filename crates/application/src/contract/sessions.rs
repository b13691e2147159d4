//! Sessions: listed and ended by their user, and whatever ends one
//! erases what its tokens kept for grace replays.

use gatehouse_domain::*;

use super::support::*;
use crate::ports::*;

/// Live sessions are listed for their user only, most recently used first;
/// a user ends only its own sessions, and ending all of them counts what
/// was live.
pub async fn sessions_are_listed_and_ended_by_their_user<
    S: UserStore + SessionStore + Transactional,
>(
    store: &S,
) {
    let (ada_id, older_id) = user_with_session(store, "sessions@example.com", 60).await;
    let mut newer = new_session(ada_id, 61);
    newer.created_at = at(3);
    let newer_id = newer.id;
    store
        .start_session(newer, audit(AuditKind::LoginSucceeded, ada_id))
        .await
        .unwrap();
    let (bob_id, bobs_id) = user_with_session(store, "someone@example.com", 62).await;

    let listed = store.live_sessions(ada_id, at(10)).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![newer_id, older_id], "most recently used first");
    assert_eq!(listed[1].created_at, at(0));
    assert_eq!(listed[1].expires_at, at(1000));
    assert_eq!(listed[1].ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(listed[1].user_agent.as_deref(), Some("contract"));
    assert!(
        store
            .live_sessions(ada_id, at(1000))
            .await
            .unwrap()
            .is_empty()
    );

    assert!(
        !store
            .revoke_own_session(bobs_id, revocation(ada_id, 20))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_own_session(SessionId::new(), revocation(ada_id, 20))
            .await
            .unwrap()
    );
    assert_eq!(store.live_sessions(bob_id, at(20)).await.unwrap().len(), 1);
    assert!(
        store
            .revoke_own_session(older_id, revocation(ada_id, 20))
            .await
            .unwrap()
    );
    assert!(
        store
            .revoke_own_session(older_id, revocation(ada_id, 21))
            .await
            .unwrap()
    );
    let listed = store.live_sessions(ada_id, at(22)).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![newer_id]
    );

    assert_eq!(
        store
            .revoke_all_sessions(revocation(ada_id, 30))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .revoke_all_sessions(revocation(ada_id, 31))
            .await
            .unwrap(),
        0
    );
    assert!(
        store
            .live_sessions(ada_id, at(32))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.live_sessions(bob_id, at(32)).await.unwrap().len(), 1);
}

/// Whatever ends a session erases the successors its tokens kept for
/// grace replays: a logout or reuse (in a unit of work), ending one
/// session, a password change for the other sessions, and ending all.
pub async fn ending_a_session_erases_its_kept_successors<
    S: UserStore + SessionStore + Transactional,
>(
    store: &S,
) {
    let user = new_user("erase@example.com");
    let (id, hash) = (user.id, user.password_hash.clone());
    let kept = new_session(id, 80);
    let kept_id = kept.id;
    store
        .create_user(user, Some(kept), audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    // Four more sessions, each with a rotated token that keeps its successor.
    let mut rotated = Vec::new();
    for n in 0..4u8 {
        let session = new_session(id, 90 + n * 2);
        let session_id = session.id;
        store
            .start_session(session, audit(AuditKind::LoginSucceeded, id))
            .await
            .unwrap();
        let outcome = store
            .rotate_if_current(attempt(90 + n * 2, 91 + n * 2, 5, 105))
            .await
            .unwrap();
        assert!(
            matches!(outcome, RotationOutcome::Rotated(_)),
            "{outcome:?}"
        );
        rotated.push((session_id, 90 + n * 2));
    }
    let kept_successor = |token: u8| async move {
        let mut tx = store.begin().await.unwrap();
        let stored = tx.lock_token(&digest(token)).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        stored.sealed_successor.is_some()
    };
    for (_, token) in &rotated {
        assert!(kept_successor(*token).await);
    }
    // The session a password change keeps rotates too, for "end all".
    let outcome = store
        .rotate_if_current(attempt(80, 81, 5, 105))
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::Rotated(_)),
        "{outcome:?}"
    );

    let (logged_out, by_user, by_password, by_all) =
        (rotated[0], rotated[1], rotated[2], rotated[3]);
    let mut tx = store.begin().await.unwrap();
    tx.revoke_session(logged_out.0, at(6), RevokeReason::Logout)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(!kept_successor(logged_out.1).await, "logout");

    assert!(
        store
            .revoke_own_session(by_user.0, revocation(id, 7))
            .await
            .unwrap()
    );
    assert!(!kept_successor(by_user.1).await, "ending one session");
    assert!(kept_successor(by_password.1).await, "untouched so far");

    let changed = store
        .change_password(PasswordChange {
            user_id: id,
            old_hash: hash.clone(),
            new_hash: PasswordHash::new("$argon2id$v=19$m=128,t=1,p=1$c2FsdHNhbHQ$ZXJhc2Vk"),
            keep_session: Some(kept_id),
            at: at(8),
            reason: RevokeReason::PasswordChanged,
            audit: audit(AuditKind::PasswordChanged, id),
            notice: mail_to("erase@example.com", at(8)),
        })
        .await
        .unwrap();
    assert!(changed);
    assert!(!kept_successor(by_password.1).await, "a password change");
    assert!(!kept_successor(by_all.1).await, "also ended by the change");
    assert!(kept_successor(80).await, "the session the change kept");
    assert_eq!(
        store.revoke_all_sessions(revocation(id, 9)).await.unwrap(),
        1
    );
    assert!(!kept_successor(80).await, "ending all");
}
