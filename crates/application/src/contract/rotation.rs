//! Refresh-token rotation: in a unit of work or in one step, only a
//! current token rotates, a family never forks, and only the newest
//! rotated token can be answered with a replay.

use futures_util::future::join_all;
use gatehouse_domain::*;

use super::support::*;
use crate::ports::*;

/// A started session's token can be locked and shows the right facts;
/// rotation retires it and makes the successor the current token.
pub async fn sessions_rotate_and_revoke<S: UserStore + SessionStore + Transactional>(store: &S) {
    let id = user(store, "rotate@example.com").await;
    let session = new_session(id, 10);
    let session_id = session.id;
    store
        .start_session(session, audit(AuditKind::LoginSucceeded, id))
        .await
        .unwrap();

    let mut tx = store.begin().await.unwrap();
    let token = tx.lock_token(&digest(10)).await.unwrap().unwrap();
    assert_eq!((token.session_id, token.user_id), (session_id, id));
    assert_eq!(token.email.as_str(), "rotate@example.com");
    assert_eq!(token.amr, gatehouse_domain::Amr::Password);
    assert_eq!(token.presented.expires_at, at(100));
    assert_eq!(token.presented.session_expires_at, at(1000));
    assert!(
        token.presented.rotated_at.is_none()
            && !token.presented.session_revoked
            && !token.user_disabled
    );
    tx.rotate(Rotation {
        token_id: token.token_id,
        session_id,
        at: at(5),
        sealed_successor: Some(vec![1, 2, 3]),
        successor: NewRefreshToken {
            id: uuid::Uuid::now_v7(),
            digest: digest(11),
            issued_at: at(5),
            expires_at: at(105),
        },
        audit: Some(audit(AuditKind::TokenRefreshed, id)),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let old = tx.lock_token(&digest(10)).await.unwrap().unwrap();
    assert_eq!(old.presented.rotated_at, Some(at(5)));
    assert_eq!(old.sealed_successor.as_deref(), Some(&[1u8, 2, 3][..]));
    assert!(old.presented.successor_kept);
    let new = tx.lock_token(&digest(11)).await.unwrap().unwrap();
    assert!(new.presented.rotated_at.is_none());
    assert_eq!(new.presented.expires_at, at(105));
    tx.revoke_session(session_id, at(6), RevokeReason::Logout)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.lock_token(&digest(11))
            .await
            .unwrap()
            .unwrap()
            .presented
            .session_revoked
    );
    tx.commit().await.unwrap();
}

/// `rotate_if_current` rotates a current token in one step, capping the
/// successor's expiry at the session's end, and declines, changing
/// nothing, for a rotated, idle-expired or revoked token; an unknown
/// digest is `Unknown`.
pub async fn rotation_in_one_step_only_takes_current_tokens<
    S: UserStore + SessionStore + Transactional,
>(
    store: &S,
) {
    let (id, session_id) = user_with_session(store, "onestep@example.com", 30).await;

    let outcome = store
        .rotate_if_current(attempt(30, 31, 5, 105))
        .await
        .unwrap();
    let RotationOutcome::Rotated(rotated) = outcome else {
        panic!("a current token rotates: {outcome:?}");
    };
    assert_eq!((rotated.session_id, rotated.user_id), (session_id, id));
    assert_eq!(rotated.amr, gatehouse_domain::Amr::Password);
    let old = current_token(store, 30).await;
    assert_eq!(old.presented.rotated_at, Some(at(5)));
    assert_eq!(old.sealed_successor.as_deref(), Some(&[30u8, 31][..]));
    let new = current_token(store, 31).await;
    assert!(new.presented.rotated_at.is_none());
    assert_eq!(new.presented.expires_at, at(105));

    // The old token again: declined, as it now stands.
    let outcome = store
        .rotate_if_current(attempt(30, 32, 6, 106))
        .await
        .unwrap();
    let RotationOutcome::Declined(declined) = outcome else {
        panic!("a rotated token is declined: {outcome:?}");
    };
    assert_eq!(declined.presented.rotated_at, Some(at(5)));
    assert!(declined.presented.successor_kept);

    // Idle-expired (the successor's idle end is 105): declined.
    let outcome = store
        .rotate_if_current(attempt(31, 33, 105, 205))
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::Declined(_)),
        "{outcome:?}"
    );

    // An idle end past the session's (1000) is capped at it.
    let outcome = store
        .rotate_if_current(attempt(31, 34, 50, 5000))
        .await
        .unwrap();
    assert!(
        matches!(outcome, RotationOutcome::Rotated(_)),
        "{outcome:?}"
    );
    assert_eq!(
        current_token(store, 34).await.presented.expires_at,
        at(1000)
    );

    let mut tx = store.begin().await.unwrap();
    tx.revoke_session(session_id, at(60), RevokeReason::Logout)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let outcome = store
        .rotate_if_current(attempt(34, 35, 61, 161))
        .await
        .unwrap();
    let RotationOutcome::Declined(revoked) = outcome else {
        panic!("a revoked session's token is declined: {outcome:?}");
    };
    assert!(revoked.presented.session_revoked && revoked.presented.rotated_at.is_none());

    // Nothing declined left a trace.
    for never in [32, 33, 35] {
        let mut tx = store.begin().await.unwrap();
        assert!(tx.lock_token(&digest(never)).await.unwrap().is_none());
        tx.commit().await.unwrap();
    }
    let outcome = store
        .rotate_if_current(attempt(99, 98, 5, 105))
        .await
        .unwrap();
    assert!(matches!(outcome, RotationOutcome::Unknown), "{outcome:?}");
}

/// A rotated token tells whether its successor is still the family's
/// current token, and the successor's own rotation (in one step or in a
/// unit of work) erases what its predecessor kept for replays: only the
/// newest rotated token can be answered with a replay.
pub async fn a_replay_needs_its_successor_current<S: UserStore + SessionStore + Transactional>(
    store: &S,
) {
    let (id, _) = user_with_session(store, "grace@example.com", 40).await;
    let declined = |token: u8| async move {
        match store
            .rotate_if_current(attempt(token, 99, 7, 107))
            .await
            .unwrap()
        {
            RotationOutcome::Declined(t) => t,
            other => panic!("a rotated token is declined: {other:?}"),
        }
    };

    assert!(matches!(
        store
            .rotate_if_current(attempt(40, 41, 5, 105))
            .await
            .unwrap(),
        RotationOutcome::Rotated(_)
    ));
    let r1 = declined(40).await;
    assert!(r1.presented.successor_current && r1.presented.successor_kept);

    // R2 -> R3 in a unit of work.
    let mut tx = store.begin().await.unwrap();
    let r2 = tx.lock_token(&digest(41)).await.unwrap().unwrap();
    tx.rotate(Rotation {
        token_id: r2.token_id,
        session_id: r2.session_id,
        at: at(6),
        sealed_successor: Some(vec![41, 42]),
        successor: NewRefreshToken {
            id: uuid::Uuid::now_v7(),
            digest: digest(42),
            issued_at: at(6),
            expires_at: at(106),
        },
        audit: Some(audit(AuditKind::TokenRefreshed, id)),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let r1 = declined(40).await;
    assert!(!r1.presented.successor_current, "R2 is no longer current");
    assert!(
        !r1.presented.successor_kept && r1.sealed_successor.is_none(),
        "R1's kept R2 is erased once R2 rotates"
    );
    let r2 = declined(41).await;
    assert!(r2.presented.successor_current && r2.presented.successor_kept);

    // R3 -> R4 in one step: the same for R2.
    assert!(matches!(
        store
            .rotate_if_current(attempt(42, 43, 8, 108))
            .await
            .unwrap(),
        RotationOutcome::Rotated(_)
    ));
    let r2 = declined(41).await;
    assert!(!r2.presented.successor_current && !r2.presented.successor_kept);
    let r3 = current_token(store, 42).await;
    assert!(r3.presented.successor_current && r3.presented.successor_kept);
    assert_eq!(
        r3.presented
            .classify(at(9), std::time::Duration::from_secs(10)),
        gatehouse_domain::Presentation::GraceReplay
    );
    assert_eq!(
        r2.presented
            .classify(at(9), std::time::Duration::from_secs(10)),
        gatehouse_domain::Presentation::Reuse
    );
}

/// Of many rotations of one current token, exactly one rotates; the family
/// gains exactly one token.
pub async fn concurrent_rotations_have_one_winner<S: UserStore + SessionStore + Transactional>(
    store: &S,
) {
    user_with_session(store, "race-rotate@example.com", 1).await;
    let outcomes =
        join_all((0..RACERS).map(|i| store.rotate_if_current(attempt(1, 100 + i, 5, 105)))).await;
    let rotated: Vec<u8> = outcomes
        .iter()
        .zip(100..)
        .filter(|(outcome, _)| matches!(outcome, Ok(RotationOutcome::Rotated(_))))
        .map(|(_, successor)| successor)
        .collect();
    assert_eq!(rotated.len(), 1, "one winner: {outcomes:?}");
    for outcome in &outcomes {
        assert!(
            matches!(
                outcome,
                Ok(RotationOutcome::Rotated(_) | RotationOutcome::Declined(_))
            ),
            "a loser is declined, never an error: {outcome:?}"
        );
    }
    // Only the winner's successor is current.
    for successor in 100..100 + RACERS {
        let next = store
            .rotate_if_current(attempt(successor, 200 + successor % 50, 6, 106))
            .await
            .unwrap();
        assert_eq!(
            matches!(next, RotationOutcome::Rotated(_)),
            successor == rotated[0],
            "successor {successor}: {next:?}"
        );
    }
}

/// Many units of work presenting one rotated token at once each lock it
/// and see its session: exactly one finds the session live and ends it
/// (the one alarm); every other finds it already ended.
pub async fn concurrent_reuse_raises_one_alarm<S: UserStore + SessionStore + Transactional>(
    store: &S,
) {
    let (id, session_id) = user_with_session(store, "reuse@example.com", 1).await;
    store
        .rotate_if_current(attempt(1, 2, 5, 105))
        .await
        .unwrap();
    let alarms = join_all((0..RACERS).map(|_| async {
        let mut tx = store.begin().await.unwrap();
        let token = tx.lock_token(&digest(1)).await.unwrap().unwrap();
        assert!(token.presented.rotated_at.is_some());
        let alarm = !token.presented.session_revoked;
        if alarm {
            tx.revoke_session(session_id, at(50), RevokeReason::ReuseDetected)
                .await
                .unwrap();
            tx.record(audit(AuditKind::RefreshReuseDetected, id))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        alarm
    }))
    .await;
    assert_eq!(alarms.iter().filter(|a| **a).count(), 1, "{alarms:?}");
    let successor = current_token(store, 2).await;
    assert!(successor.presented.session_revoked);
    assert!(current_token(store, 1).await.sealed_successor.is_none());
}

/// A refresh and a logout of one session at once, in either order: the
/// session ends, no token of it is current afterwards, and no kept
/// successor outlives it. Both the one-step rotation and the unit of work
/// are raced, round after round.
pub async fn a_refresh_racing_a_logout_leaves_the_session_ended<
    S: UserStore + SessionStore + Transactional,
>(
    store: &S,
) {
    for round in 0..8u8 {
        let (id, session_id) =
            user_with_session(store, &format!("racer{round}@example.com"), round * 2).await;
        let (first, successor) = (round * 2, round * 2 + 1);
        let refresh = async {
            if round % 2 == 0 {
                store
                    .rotate_if_current(attempt(first, successor, 5, 105))
                    .await
                    .map(|outcome| matches!(outcome, RotationOutcome::Rotated(_)))
            } else {
                let mut tx = store.begin().await?;
                let token = tx.lock_token(&digest(first)).await?.unwrap();
                let live = token.presented.classify(at(5), std::time::Duration::ZERO)
                    == Presentation::Rotate;
                if live {
                    let a = attempt(first, successor, 5, 105);
                    tx.rotate(Rotation {
                        token_id: token.token_id,
                        session_id,
                        at: a.at,
                        sealed_successor: a.sealed_successor,
                        successor: a.successor,
                        audit: a.audit,
                    })
                    .await?;
                }
                tx.commit().await?;
                Ok(live)
            }
        };
        let logout = store.revoke_own_session(
            session_id,
            SessionRevocation {
                reason: RevokeReason::Logout,
                ..revocation(id, 5)
            },
        );
        let (rotated, ended) = futures_util::join!(refresh, logout);
        let rotated = rotated.unwrap();
        assert!(
            ended.unwrap(),
            "round {round}: the logout found the session"
        );
        let old = current_token(store, first).await;
        assert!(old.presented.session_revoked, "round {round}");
        assert!(
            old.sealed_successor.is_none(),
            "round {round}: no kept successor"
        );
        let mut tx = store.begin().await.unwrap();
        let next = tx.lock_token(&digest(successor)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(next.is_some(), rotated, "round {round}");
        if let Some(next) = next {
            assert!(next.presented.session_revoked, "round {round}");
        }
        assert!(store.live_sessions(id, at(6)).await.unwrap().is_empty());
    }
}

/// Many units of work present one current token at once (the retries a
/// flaky network makes): each locks it in turn, exactly one finds it
/// current and rotates it, and every other then sees that rotation, with
/// the successor it kept and that successor still current, which is what
/// a grace replay answers with.
pub async fn concurrent_presentations_see_the_one_rotation<
    S: UserStore + SessionStore + Transactional,
>(
    store: &S,
) {
    let (_, session_id) = user_with_session(store, "retries@example.com", 1).await;
    let seen = join_all((0..RACERS).map(|i| async move {
        let mut tx = store.begin().await.unwrap();
        let token = tx.lock_token(&digest(1)).await.unwrap().unwrap();
        let rotated_here = token.presented.rotated_at.is_none();
        if rotated_here {
            let a = attempt(1, 100 + i, 5, 105);
            tx.rotate(Rotation {
                token_id: token.token_id,
                session_id,
                at: a.at,
                sealed_successor: Some(vec![i; 4]),
                successor: a.successor,
                audit: None,
            })
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        (i, rotated_here, token)
    }))
    .await;
    let winners: Vec<u8> = seen.iter().filter(|s| s.1).map(|s| s.0).collect();
    assert_eq!(winners.len(), 1, "one rotation: {winners:?}");
    let winner = winners[0];
    for (i, rotated_here, token) in &seen {
        if !rotated_here {
            assert_eq!(token.presented.rotated_at, Some(at(5)), "{i}");
            assert_eq!(
                token.sealed_successor.as_deref(),
                Some(&[winner; 4][..]),
                "{i}"
            );
            assert!(
                token.presented.successor_kept && token.presented.successor_current,
                "{i}"
            );
        }
    }
    assert!(
        current_token(store, 100 + winner)
            .await
            .presented
            .rotated_at
            .is_none()
    );
}
