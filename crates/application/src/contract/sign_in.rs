//! Sign-in: attempts counted when they start (per network and per
//! account), lockouts that double, refunds, and a session started only on
//! the account state its check began with.

use futures_util::future::join_all;
use gatehouse_domain::*;

use super::support::*;
use crate::ports::*;

/// Of many attempts started at once on one account and network, exactly
/// as many are let in as the network's counter allows; the rest are
/// refused before anything is checked. Another network is still let in.
pub async fn concurrent_attempts_are_let_in_up_to_the_limit<S: SignInStore>(store: &S) {
    let email = Email::parse("nobody@example.com").unwrap();
    let rules = rules(5, 100);
    let begun = join_all((0..40).map(|_| async {
        store
            .begin_login_attempt(&email, &attempt_on("a", rules, 0))
            .await
            .unwrap()
    }))
    .await;
    let let_in = begun.iter().filter(|b| b.locked_until.is_none()).count();
    assert_eq!(let_in, 5, "at most the limit is let in");
    assert!(
        begun
            .iter()
            .filter_map(|b| b.locked_until)
            .all(|until| until == at(10)),
        "the rest are told when the lockout ends"
    );
    let elsewhere = store
        .begin_login_attempt(&email, &attempt_on("b", rules, 1))
        .await
        .unwrap();
    assert!(
        elsewhere.locked_until.is_none(),
        "another network is let in"
    );
}

/// The account's own counter locks every network out, and a refund takes
/// an attempt back (below the threshold, the lockout too).
pub async fn the_account_counter_spans_networks_and_refunds_take_back<S: SignInStore>(store: &S) {
    let email = Email::parse("nobody@example.com").unwrap();
    let rules = rules(100, 3);
    for network in ["a", "b", "c"] {
        let begun = store
            .begin_login_attempt(&email, &attempt_on(network, rules, 0))
            .await
            .unwrap();
        assert!(begun.locked_until.is_none(), "{network} is let in");
    }
    let fourth = attempt_on("d", rules, 1);
    let refused = store.begin_login_attempt(&email, &fourth).await.unwrap();
    assert_eq!(
        refused.locked_until,
        Some(at(10)),
        "locked for every network"
    );
    // Refunding the third attempt brings the account below its threshold.
    store
        .refund_login_attempt(&attempt_on("c", rules, 0))
        .await
        .unwrap();
    let again = store.begin_login_attempt(&email, &fourth).await.unwrap();
    assert!(
        again.locked_until.is_none(),
        "let in again after the refund"
    );
}

/// After a lockout ends, the next attempt is let in and locks for twice
/// as long; a locked-out attempt extends nothing.
pub async fn a_lockout_doubles_once_it_has_ended<S: SignInStore>(store: &S) {
    let email = &Email::parse("nobody@example.com").unwrap();
    let rules = rules(2, 100);
    let try_at = |secs| async move {
        store
            .begin_login_attempt(email, &attempt_on("a", rules, secs))
            .await
            .unwrap()
            .locked_until
    };
    assert_eq!(try_at(0).await, None);
    assert_eq!(try_at(0).await, None, "the second reaches the threshold");
    assert_eq!(try_at(5).await, Some(at(10)));
    assert_eq!(try_at(10).await, None, "let in once the lockout ended");
    assert_eq!(try_at(11).await, Some(at(30)), "then locked for 20 s");
    assert_eq!(try_at(30).await, None);
    assert_eq!(try_at(30).await, Some(at(70)));
}

/// A sign-in's session starts only if the account still has the password
/// hash and sessions epoch its check began with and is enabled; "sign out
/// everywhere" moves the epoch on. Anything else writes nothing.
pub async fn a_sign_in_starts_only_on_what_it_checked<
    S: SignInStore + UserStore + SessionStore + crate::ports::AdminStore,
>(
    store: &S,
) {
    use crate::ports::{RevokeReason, SessionRevocation, SessionStart, SignInGuard, UserUpdate};
    let user = new_user("guarded@example.com");
    let (id, hash) = (user.id, user.password_hash.clone());
    store
        .create_user(user, None, audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    let email = Email::parse("guarded@example.com").unwrap();
    let rules = rules(1, 100);
    let begun = store
        .begin_login_attempt(&email, &attempt_on("a", rules, 0))
        .await
        .unwrap();
    assert!(begun.credentials.is_some() && begun.locked_until.is_none());
    let epoch = begun.sessions_epoch;
    let start = |token: u8, hash: &PasswordHash, epoch: i64| {
        let guard = SignInGuard {
            password_hash: hash.clone(),
            sessions_epoch: epoch,
        };
        async move {
            store
                .start_login_session(
                    new_session(id, token),
                    audit(AuditKind::LoginSucceeded, id),
                    &attempt_on("a", rules, 0).keys,
                    &guard,
                )
                .await
                .unwrap()
        }
    };
    let other_hash = PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1$b3RoZXJzYWx0$b3RoZXI");
    assert_eq!(start(60, &other_hash, epoch).await, SessionStart::Stale);
    assert_eq!(start(61, &hash, epoch + 1).await, SessionStart::Stale);
    assert_eq!(
        store.live_sessions(id, at(1)).await.unwrap().len(),
        0,
        "a stale sign-in writes nothing"
    );
    assert_eq!(
        store.find_user(id).await.unwrap().unwrap().last_sign_in_at,
        None,
        "a stale sign-in is no sign-in"
    );
    assert_eq!(start(62, &hash, epoch).await, SessionStart::Started);
    assert_eq!(
        store.find_user(id).await.unwrap().unwrap().last_sign_in_at,
        Some(at(0)),
        "set with the session it starts"
    );
    // The success forgot the failures: the limit of one lets in again.
    let again = store
        .begin_login_attempt(&email, &attempt_on("a", rules, 0))
        .await
        .unwrap();
    assert!(
        again.locked_until.is_none(),
        "counters forgotten on success"
    );

    store
        .revoke_all_sessions(SessionRevocation {
            user_id: id,
            at: at(1),
            reason: RevokeReason::UserRevoked,
            audit: audit(AuditKind::SessionRevoked, id),
        })
        .await
        .unwrap();
    assert_eq!(
        start(63, &hash, epoch).await,
        SessionStart::Stale,
        "an epoch read before signing out everywhere is stale"
    );
    let moved = store
        .begin_login_attempt(&email, &attempt_on("b", rules, 2))
        .await
        .unwrap();
    assert!(moved.sessions_epoch > epoch);
    assert_eq!(
        start(64, &hash, moved.sessions_epoch).await,
        SessionStart::Started
    );

    store
        .update_user(UserUpdate {
            user_id: id,
            role: None,
            disabled: Some(true),
            at: at(3),
            audit: audit(AuditKind::AdminUserUpdated, id),
        })
        .await
        .unwrap();
    let disabled = store
        .begin_login_attempt(&email, &attempt_on("c", rules, 4))
        .await
        .unwrap();
    assert_eq!(
        start(65, &hash, disabled.sessions_epoch).await,
        SessionStart::Disabled
    );
}

/// A reauthentication in a live session of the user sets its `auth_time`
/// and forgets the failures of its keys, together; in another user's,
/// an ended or an unknown session it does neither.
pub async fn reauthentication_needs_a_live_session_of_the_user<
    S: UserStore + SessionStore + SignInStore + Transactional,
>(
    store: &S,
) {
    let (id, session_id) = user_with_session(store, "again@example.com", 1).await;
    let email = Email::parse("again@example.com").unwrap();
    let rules = rules(2, 100);
    for _ in 0..2 {
        let begun = store
            .begin_login_attempt(&email, &attempt_on("a", rules, 0))
            .await
            .unwrap();
        assert!(begun.locked_until.is_none());
    }
    let locked = store
        .begin_login_attempt(&email, &attempt_on("a", rules, 0))
        .await
        .unwrap();
    assert!(
        locked.locked_until.is_some(),
        "two failures lock the network"
    );

    let keys = &attempt_on("a", rules, 0).keys;
    assert!(
        !store
            .reauthenticate_session(session_id, UserId::new(), at(3), keys)
            .await
            .unwrap()
    );
    assert!(
        !store
            .reauthenticate_session(SessionId::new(), id, at(3), keys)
            .await
            .unwrap()
    );
    assert!(
        store
            .begin_login_attempt(&email, &attempt_on("a", rules, 3))
            .await
            .unwrap()
            .locked_until
            .is_some(),
        "a refused reauthentication forgets nothing"
    );
    assert!(
        store
            .reauthenticate_session(session_id, id, at(4), keys)
            .await
            .unwrap()
    );
    assert_eq!(current_token(store, 1).await.auth_time, at(4));
    assert!(
        store
            .begin_login_attempt(&email, &attempt_on("a", rules, 5))
            .await
            .unwrap()
            .locked_until
            .is_none(),
        "the failures were forgotten"
    );

    store.revoke_all_sessions(revocation(id, 6)).await.unwrap();
    assert!(
        !store
            .reauthenticate_session(session_id, id, at(7), keys)
            .await
            .unwrap()
    );
}

/// A sign-in's session start and "sign out everywhere" at the same
/// moment, round after round: whichever lands second sees the other's
/// work, so no round leaves a session alive.
pub async fn a_sign_in_racing_the_end_of_every_session_leaves_nothing_alive<
    S: UserStore + SessionStore + SignInStore,
>(
    store: &S,
) {
    let user = new_user("racing@example.com");
    let (id, hash) = (user.id, user.password_hash.clone());
    store
        .create_user(user, None, audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    let email = Email::parse("racing@example.com").unwrap();
    let rules = rules(1_000, 1_000);
    let mut started = 0;
    for round in 0..16u8 {
        let attempt = attempt_on("a", rules, i64::from(round));
        let begun = store.begin_login_attempt(&email, &attempt).await.unwrap();
        let guard = SignInGuard {
            password_hash: hash.clone(),
            sessions_epoch: begun.sessions_epoch,
        };
        let (start, ended) = futures_util::join!(
            store.start_login_session(
                new_session(id, round),
                audit(AuditKind::LoginSucceeded, id),
                &attempt.keys,
                &guard,
            ),
            store.revoke_all_sessions(revocation(id, i64::from(round)))
        );
        ended.unwrap();
        match start.unwrap() {
            SessionStart::Started => started += 1,
            SessionStart::Stale => {}
            other => panic!("round {round}: {other:?}"),
        }
        assert!(
            store.live_sessions(id, at(1)).await.unwrap().is_empty(),
            "round {round} ({started} started first)"
        );
    }
}
