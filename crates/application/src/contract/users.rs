//! Users: created once, found by id and any case of the email, and the
//! password hash swapped only from the one that was verified.

use futures_util::future::join_all;
use gatehouse_domain::*;

use super::support::*;
use crate::ports::*;

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
    let (bob_id, _) = user_with_session(store, "bystander@example.com", 72).await;
    let new = PasswordHash::new("$argon2id$v=19$m=128,t=1,p=1$c2FsdHNhbHQ$Y2hhbmdlZA");
    let change = |old_hash: &PasswordHash| PasswordChange {
        user_id: id,
        old_hash: old_hash.clone(),
        new_hash: new.clone(),
        keep_session: Some(kept_id),
        at: at(10),
        reason: RevokeReason::PasswordChanged,
        audit: audit(AuditKind::PasswordChanged, id),
        notice: mail_to("change@example.com", at(10)),
    };

    assert!(
        !store.change_password(change(&new)).await.unwrap(),
        "stale hash"
    );
    assert_eq!(store.live_sessions(id, at(11)).await.unwrap().len(), 2);
    assert!(pending(store).await.is_empty(), "no change, no notice");
    assert!(store.change_password(change(&old)).await.unwrap());
    assert_eq!(pending(store).await.len(), 1, "the notice");
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

/// Registrations of one email at once make one user; every other is
/// `EmailTaken` and writes nothing.
pub async fn concurrent_creations_of_one_email_make_one_user<S: UserStore + AdminStore>(store: &S) {
    let created = join_all((0..RACERS).map(|_| {
        let mut user = new_user("ops@example.com");
        user.role = Role::Admin;
        let id = user.id;
        store.create_user(user, None, audit(AuditKind::UserRegistered, id))
    }))
    .await;
    let mut made = 0;
    for result in created {
        match result {
            Ok(()) => made += 1,
            Err(CreateUserError::EmailTaken) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(made, 1);
    assert_eq!(
        store
            .list_users(UserQuery {
                limit: 100,
                ..UserQuery::default()
            })
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Only a conflict on the email is `EmailTaken`: a clash on anything else
/// (here the id) is an unexpected failure, and writes nothing.
pub async fn only_the_email_conflict_is_email_taken<S: UserStore>(store: &S) {
    let id = user(store, "first@example.com").await;
    let twin = NewUser {
        id,
        ..new_user("second@example.com")
    };
    let err = store
        .create_user(twin, None, audit(AuditKind::UserRegistered, id))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CreateUserError::Port(PortError::Unexpected(_))),
        "{err:?}"
    );
    assert!(
        store
            .find_credentials(&Email::parse("second@example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

/// Emails whose case mappings are unusual are stored and found by the
/// domain's own normal form, not the database's idea of lower case; the
/// longest email the domain accepts, counted as stored (lower-casing can
/// lengthen it), fits the store.
pub async fn every_email_the_domain_accepts_is_stored_and_found<S: UserStore>(store: &S) {
    let ascii = format!("{}@example.com", "a".repeat(254 - 12));
    let expanding = format!("{}@ex.com", "İ".repeat(123));
    for raw in [
        "İnfo@Example.com",
        "ÅSA@exämple.org",
        "straße@example.de",
        ascii.as_str(),
        expanding.as_str(),
    ] {
        let id = user(store, raw).await;
        let found = store
            .find_credentials(&Email::parse(raw).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.user.id, id, "{raw}");
    }
    assert!(Email::parse(&format!("{}@ex.com", "İ".repeat(124))).is_err());
}

/// A profile update changes only what it names (a name, cleared with
/// `Some(None)`; the metadata, replaced whole) and records its event; an
/// unknown user is `None`, nothing written. Every session started is the
/// user's last sign-in; registering without one leaves it unset.
pub async fn profiles_change_in_part_and_sign_ins_are_recorded<
    S: UserStore + SessionStore + AdminStore,
>(
    store: &S,
) {
    let mut user = new_user("profile@example.com");
    user.name = Some(DisplayName::parse("Ada").unwrap());
    let id = user.id;
    store
        .create_user(user, None, audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    let fresh = store.find_user(id).await.unwrap().unwrap();
    assert_eq!(fresh.name.as_ref().map(DisplayName::as_str), Some("Ada"));
    assert_eq!(fresh.metadata, Metadata::default());
    assert!(!fresh.password_must_change);
    assert_eq!(fresh.last_sign_in_at, None, "registered without a session");

    let update = |name, metadata| ProfileUpdate {
        user_id: id,
        name,
        metadata,
        at: at(3),
        audit: audit(AuditKind::UserUpdated, id),
    };
    let plan = Metadata::new(serde_json::json!({ "plan": "pro", "seats": [1, 2] })).unwrap();
    let changed = store
        .update_profile(update(None, Some(plan.clone())))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.metadata, plan);
    assert_eq!(changed.name, fresh.name, "the name stays");
    let renamed = store
        .update_profile(update(
            Some(Some(DisplayName::parse("Ada L.").unwrap())),
            None,
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        renamed.name.as_ref().map(DisplayName::as_str),
        Some("Ada L.")
    );
    assert_eq!(renamed.metadata, plan, "the metadata stays");
    // At the bound, with a number a store may write out longer (jsonb
    // spells 1e19 in twenty digits): what was accepted reads back.
    let big = serde_json::json!({ "n": 1e19, "pad": "" });
    let room =
        gatehouse_domain::profile::MAX_METADATA_BYTES - Metadata::new(big).unwrap().to_json().len();
    let at_bound =
        Metadata::new(serde_json::json!({ "n": 1e19, "pad": "x".repeat(room) })).unwrap();
    assert_eq!(
        at_bound.to_json().len(),
        gatehouse_domain::profile::MAX_METADATA_BYTES
    );
    let stored = store
        .update_profile(update(None, Some(at_bound)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.metadata.as_map()["pad"].as_str().map(str::len),
        Some(room)
    );
    assert_eq!(
        store.find_user(id).await.unwrap().unwrap(),
        stored,
        "and keeps reading back"
    );
    store
        .update_profile(update(None, Some(plan.clone())))
        .await
        .unwrap();
    let cleared = store
        .update_profile(update(Some(None), None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleared.name, None);
    assert_eq!(store.find_user(id).await.unwrap().unwrap(), cleared);
    let unknown = ProfileUpdate {
        user_id: UserId::new(),
        ..update(Some(None), None)
    };
    assert!(store.update_profile(unknown).await.unwrap().is_none());
    let events = store
        .audit_events(AuditQuery {
            user_id: None,
            kind: Some(AuditKind::UserUpdated),
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 5, "one per update of a user that exists");

    let mut session = new_session(id, 1);
    session.created_at = at(7);
    store
        .start_session(session, audit(AuditKind::LoginSucceeded, id))
        .await
        .unwrap();
    assert_eq!(
        store.find_user(id).await.unwrap().unwrap().last_sign_in_at,
        Some(at(7))
    );
    let (signed_up, _) = user_with_session(store, "signed-up@example.com", 2).await;
    assert_eq!(
        store
            .find_user(signed_up)
            .await
            .unwrap()
            .unwrap()
            .last_sign_in_at,
        Some(at(0)),
        "registering with a session is a sign-in"
    );
}
