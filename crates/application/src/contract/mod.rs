//! The store ports' contract as executable checks. Each adapter's test
//! suite runs every function here against a fresh, empty store, so the
//! PostgreSQL and SQLite adapters (and any new one) are held to the same
//! behaviour. Failures panic: this is test support.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod concurrency;
pub mod mail;

/// The account and session cases, under one name for `store_contract_tests!`.
pub mod accounts {
    pub use super::{
        a_password_change_swaps_the_hash_and_ends_other_sessions,
        a_replay_needs_its_successor_current, dropped_units_of_work_leave_no_trace,
        ending_a_session_erases_its_kept_successors, password_hash_replacement_is_compare_and_swap,
        rolled_back_units_of_work_leave_no_trace, rotation_in_one_step_only_takes_current_tokens,
        session_liveness_comes_with_the_user, sessions_are_listed_and_ended_by_their_user,
        sessions_rotate_and_revoke, users_are_created_once_and_found,
    };
}
pub mod mfa;

use chrono::TimeZone;
use gatehouse_domain::{
    AuditEvent, AuditKind, ClientInfo, Email, PasswordHash, Role, SessionId, Timestamp, UserId,
};

use crate::ports::{
    AuditTx, CreateUserError, NewRefreshToken, NewSession, NewUser, PasswordChange, RevokeReason,
    Rotation, RotationAttempt, RotationOutcome, SessionRevocation, SessionStore, SessionTx,
    TokenDigest, Transactional, UnitOfWork, UserStore,
};

pub(crate) fn at(secs: i64) -> Timestamp {
    chrono::Utc
        .timestamp_opt(1_900_000_000 + secs, 0)
        .single()
        .unwrap()
}

pub(crate) fn digest(byte: u8) -> TokenDigest {
    TokenDigest(vec![byte; 32])
}

pub(crate) fn new_user(email: &str) -> NewUser {
    NewUser {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        password_hash: PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"),
        role: Role::User,
        created_at: at(0),
        verification: None,
        email_verified: false,
    }
}

pub(crate) fn new_session(user_id: UserId, token: u8) -> NewSession {
    NewSession {
        id: SessionId::new(),
        user_id,
        created_at: at(0),
        expires_at: at(1000),
        amr: gatehouse_domain::Amr::Password,
        client: ClientInfo::new(Some("192.0.2.1".into()), Some("contract")),
        first_token: NewRefreshToken {
            id: uuid::Uuid::now_v7(),
            digest: digest(token),
            issued_at: at(0),
            expires_at: at(100),
        },
    }
}

pub(crate) fn audit(kind: AuditKind, user_id: UserId) -> AuditEvent {
    AuditEvent::new(kind, at(0), Some(user_id), &ClientInfo::default())
}

/// Creating a user makes it findable by id and by any case of its email;
/// a second user with the same email is `EmailTaken` and writes nothing.
pub async fn users_are_created_once_and_found<S: UserStore + SessionStore + Transactional>(
    store: &S,
) {
    let user = new_user("contract@example.com");
    let id = user.id;
    let session = new_session(id, 1);
    store
        .create_user(user, Some(session), audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();

    let found = store
        .find_credentials(&Email::parse("CONTRACT@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user.id, id);
    assert_eq!(found.user.role, Role::User);
    assert!(!found.user.disabled && !found.user.email_verified && !found.user.mfa_enabled);
    assert_eq!(
        store.find_user(id).await.unwrap().unwrap().email.as_str(),
        "contract@example.com"
    );
    assert!(store.find_user(UserId::new()).await.unwrap().is_none());

    let twin = new_user("contract@example.com");
    let twin_session = new_session(twin.id, 2);
    let twin_id = twin.id;
    let err = store
        .create_user(
            twin,
            Some(twin_session),
            audit(AuditKind::UserRegistered, twin_id),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CreateUserError::EmailTaken), "{err:?}");
    assert!(store.find_user(twin_id).await.unwrap().is_none());
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.lock_token(&digest(2)).await.unwrap().is_none(),
        "the twin's session must not exist"
    );
    tx.commit().await.unwrap();
}

/// The password hash is replaced only while it is still the expected one.
pub async fn password_hash_replacement_is_compare_and_swap<S: UserStore>(store: &S) {
    let user = new_user("cas@example.com");
    let (id, old) = (user.id, user.password_hash.clone());
    store
        .create_user(user, None, audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    let new = PasswordHash::new("$argon2id$v=19$m=128,t=1,p=1$c2FsdHNhbHQ$bmV3aGFzaA");
    assert!(!store.replace_password_hash(id, &new, &old).await.unwrap());
    assert!(store.replace_password_hash(id, &old, &new).await.unwrap());
    assert!(!store.replace_password_hash(id, &old, &new).await.unwrap());
    let stored = store
        .find_credentials(&Email::parse("cas@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.password_hash, new);
}

/// A started session's token can be locked and shows the right facts;
/// rotation retires it and makes the successor the current token.
pub async fn sessions_rotate_and_revoke<S: UserStore + SessionStore + Transactional>(store: &S) {
    let user = new_user("rotate@example.com");
    let id = user.id;
    store
        .create_user(user, None, audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
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
    assert_eq!(token.facts.expires_at, at(100));
    assert_eq!(token.facts.session_expires_at, at(1000));
    assert!(
        token.facts.rotated_at.is_none() && !token.facts.session_revoked && !token.user_disabled
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
    assert_eq!(old.facts.rotated_at, Some(at(5)));
    assert_eq!(old.sealed_successor.as_deref(), Some(&[1u8, 2, 3][..]));
    assert!(old.facts.successor_kept);
    let new = tx.lock_token(&digest(11)).await.unwrap().unwrap();
    assert!(new.facts.rotated_at.is_none());
    assert_eq!(new.facts.expires_at, at(105));
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
            .facts
            .session_revoked
    );
    tx.commit().await.unwrap();
}

/// A unit of work dropped without commit leaves no trace.
pub async fn dropped_units_of_work_leave_no_trace<S: UserStore + SessionStore + Transactional>(
    store: &S,
) {
    let user = new_user("drop@example.com");
    let id = user.id;
    store
        .create_user(
            user,
            Some(new_session(id, 20)),
            audit(AuditKind::UserRegistered, id),
        )
        .await
        .unwrap();
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
    assert!(token.facts.rotated_at.is_none() && !token.facts.session_revoked);
    assert!(tx.lock_token(&digest(21)).await.unwrap().is_none());
    tx.commit().await.unwrap();
}

pub(crate) fn attempt(token: u8, successor: u8, now: i64, idle_end: i64) -> RotationAttempt {
    RotationAttempt {
        digest: digest(token),
        at: at(now),
        sealed_successor: Some(vec![token, successor]),
        successor: NewRefreshToken {
            id: uuid::Uuid::now_v7(),
            digest: digest(successor),
            issued_at: at(now),
            expires_at: at(idle_end),
        },
        audit: Some(AuditEvent::new(
            AuditKind::TokenRefreshed,
            at(now),
            None,
            &ClientInfo::default(),
        )),
    }
}

async fn current_token<S: SessionStore + Transactional>(
    store: &S,
    token: u8,
) -> crate::ports::StoredToken {
    let mut tx = store.begin().await.unwrap();
    let stored = tx.lock_token(&digest(token)).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    stored
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
    let user = new_user("onestep@example.com");
    let id = user.id;
    let session = new_session(id, 30);
    let session_id = session.id;
    store
        .create_user(user, Some(session), audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();

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
    assert_eq!(old.facts.rotated_at, Some(at(5)));
    assert_eq!(old.sealed_successor.as_deref(), Some(&[30u8, 31][..]));
    let new = current_token(store, 31).await;
    assert!(new.facts.rotated_at.is_none());
    assert_eq!(new.facts.expires_at, at(105));

    // The old token again: declined, as it now stands.
    let outcome = store
        .rotate_if_current(attempt(30, 32, 6, 106))
        .await
        .unwrap();
    let RotationOutcome::Declined(declined) = outcome else {
        panic!("a rotated token is declined: {outcome:?}");
    };
    assert_eq!(declined.facts.rotated_at, Some(at(5)));
    assert!(declined.facts.successor_kept);

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
    assert_eq!(current_token(store, 34).await.facts.expires_at, at(1000));

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
    assert!(revoked.facts.session_revoked && revoked.facts.rotated_at.is_none());

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
    let user = new_user("grace@example.com");
    let id = user.id;
    store
        .create_user(
            user,
            Some(new_session(id, 40)),
            audit(AuditKind::UserRegistered, id),
        )
        .await
        .unwrap();
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
    assert!(r1.facts.successor_current && r1.facts.successor_kept);

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
    assert!(!r1.facts.successor_current, "R2 is no longer current");
    assert!(
        !r1.facts.successor_kept && r1.sealed_successor.is_none(),
        "R1's kept R2 is erased once R2 rotates"
    );
    let r2 = declined(41).await;
    assert!(r2.facts.successor_current && r2.facts.successor_kept);

    // R3 -> R4 in one step: the same for R2.
    assert!(matches!(
        store
            .rotate_if_current(attempt(42, 43, 8, 108))
            .await
            .unwrap(),
        RotationOutcome::Rotated(_)
    ));
    let r2 = declined(41).await;
    assert!(!r2.facts.successor_current && !r2.facts.successor_kept);
    let r3 = current_token(store, 42).await;
    assert!(r3.facts.successor_current && r3.facts.successor_kept);
    assert_eq!(
        r3.facts.classify(at(9), std::time::Duration::from_secs(10)),
        gatehouse_domain::Presentation::GraceReplay
    );
    assert_eq!(
        r2.facts.classify(at(9), std::time::Duration::from_secs(10)),
        gatehouse_domain::Presentation::Reuse
    );
}

/// `find_session_user` finds the user and tells whether the named session
/// is its own, unrevoked and not past its end; an unknown user is `None`.
pub async fn session_liveness_comes_with_the_user<S: UserStore + SessionStore + Transactional>(
    store: &S,
) {
    let ada = new_user("live@example.com");
    let ada_id = ada.id;
    let ada_session = new_session(ada_id, 40);
    let ada_sid = ada_session.id;
    store
        .create_user(
            ada,
            Some(ada_session),
            audit(AuditKind::UserRegistered, ada_id),
        )
        .await
        .unwrap();
    let bob = new_user("other@example.com");
    let bob_id = bob.id;
    let bob_session = new_session(bob_id, 41);
    let bob_sid = bob_session.id;
    store
        .create_user(
            bob,
            Some(bob_session),
            audit(AuditKind::UserRegistered, bob_id),
        )
        .await
        .unwrap();

    let found = store
        .find_session_user(ada_id, ada_sid, at(10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user.email.as_str(), "live@example.com");
    assert!(found.session_live);
    let past_end = store.find_session_user(ada_id, ada_sid, at(1000)).await;
    assert!(
        !past_end.unwrap().unwrap().session_live,
        "the session ends at 1000"
    );
    let someone_elses = store.find_session_user(ada_id, bob_sid, at(10)).await;
    assert!(!someone_elses.unwrap().unwrap().session_live);
    let unknown_session = store
        .find_session_user(ada_id, SessionId::new(), at(10))
        .await;
    assert!(!unknown_session.unwrap().unwrap().session_live);
    assert!(
        store
            .find_session_user(UserId::new(), ada_sid, at(10))
            .await
            .unwrap()
            .is_none()
    );

    let mut tx = store.begin().await.unwrap();
    tx.revoke_session(ada_sid, at(20), RevokeReason::Logout)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let revoked = store.find_session_user(ada_id, ada_sid, at(21)).await;
    assert!(!revoked.unwrap().unwrap().session_live);
}

/// An explicit rollback undoes every write of the unit of work and frees
/// its locks at once: the next unit of work finds the token as it was.
pub async fn rolled_back_units_of_work_leave_no_trace<
    S: UserStore + SessionStore + Transactional,
>(
    store: &S,
) {
    let user = new_user("rollback@example.com");
    let id = user.id;
    store
        .create_user(
            user,
            Some(new_session(id, 50)),
            audit(AuditKind::UserRegistered, id),
        )
        .await
        .unwrap();
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
    assert!(!token.facts.session_revoked);
    tx.commit().await.unwrap();
}

fn revocation(user_id: UserId, now: i64) -> SessionRevocation {
    SessionRevocation {
        user_id,
        at: at(now),
        reason: RevokeReason::UserRevoked,
        audit: AuditEvent::new(
            AuditKind::SessionRevoked,
            at(now),
            Some(user_id),
            &ClientInfo::default(),
        ),
    }
}

/// Live sessions are listed for their user only, most recently used first;
/// a user ends only its own sessions, and ending all of them counts what
/// was live.
pub async fn sessions_are_listed_and_ended_by_their_user<
    S: UserStore + SessionStore + Transactional,
>(
    store: &S,
) {
    let ada = new_user("sessions@example.com");
    let ada_id = ada.id;
    let older = new_session(ada_id, 60);
    let older_id = older.id;
    store
        .create_user(ada, Some(older), audit(AuditKind::UserRegistered, ada_id))
        .await
        .unwrap();
    let mut newer = new_session(ada_id, 61);
    newer.created_at = at(3);
    let newer_id = newer.id;
    store
        .start_session(newer, audit(AuditKind::LoginSucceeded, ada_id))
        .await
        .unwrap();
    let bob = new_user("someone@example.com");
    let bob_id = bob.id;
    let bobs = new_session(bob_id, 62);
    let bobs_id = bobs.id;
    store
        .create_user(bob, Some(bobs), audit(AuditKind::UserRegistered, bob_id))
        .await
        .unwrap();

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

/// A password change swaps the hash only if it is still the verified one,
/// and ends every other session of the user with it, keeping one.
pub async fn a_password_change_swaps_the_hash_and_ends_other_sessions<
    S: UserStore + SessionStore + Transactional + crate::ports::MailOutbox,
>(
    store: &S,
) {
    let user = new_user("change@example.com");
    let (id, old) = (user.id, user.password_hash.clone());
    let kept = new_session(id, 70);
    let kept_id = kept.id;
    store
        .create_user(user, Some(kept), audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    store
        .start_session(new_session(id, 71), audit(AuditKind::LoginSucceeded, id))
        .await
        .unwrap();
    let bob = new_user("bystander@example.com");
    let bob_id = bob.id;
    store
        .create_user(
            bob,
            Some(new_session(bob_id, 72)),
            audit(AuditKind::UserRegistered, bob_id),
        )
        .await
        .unwrap();
    let new = PasswordHash::new("$argon2id$v=19$m=128,t=1,p=1$c2FsdHNhbHQ$Y2hhbmdlZA");
    let change = |old_hash: &PasswordHash| PasswordChange {
        user_id: id,
        old_hash: old_hash.clone(),
        new_hash: new.clone(),
        keep_session: Some(kept_id),
        at: at(10),
        reason: RevokeReason::PasswordChanged,
        audit: audit(AuditKind::PasswordChanged, id),
        notice: mail::mail_to("change@example.com", at(10)),
    };

    assert!(
        !store.change_password(change(&new)).await.unwrap(),
        "stale hash"
    );
    assert_eq!(store.live_sessions(id, at(11)).await.unwrap().len(), 2);
    assert!(
        mail::pending(store).await.is_empty(),
        "no change, no notice"
    );
    assert!(store.change_password(change(&old)).await.unwrap());
    assert_eq!(mail::pending(store).await.len(), 1, "the notice");
    let stored = store
        .find_credentials(&Email::parse("change@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.password_hash, new);
    let live = store.live_sessions(id, at(11)).await.unwrap();
    assert_eq!(live.iter().map(|s| s.id).collect::<Vec<_>>(), vec![kept_id]);
    assert_eq!(store.live_sessions(bob_id, at(11)).await.unwrap().len(), 1);
    // The old hash no longer matches: a second change with it is refused.
    assert!(!store.change_password(change(&old)).await.unwrap());
}

/// Whatever ends a session erases the successors its tokens kept for
/// grace replays: a logout or reuse (in a unit of work), ending one
/// session, ending all, and a password change for the other sessions.
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
            notice: mail::mail_to("erase@example.com", at(8)),
        })
        .await
        .unwrap();
    assert!(changed);
    assert!(!kept_successor(by_password.1).await, "a password change");
    assert!(!kept_successor(by_all.1).await, "also ended by the change");
    assert_eq!(
        store.revoke_all_sessions(revocation(id, 9)).await.unwrap(),
        1
    );
}
