//! What the admin API needs of the store: users listed by id after a
//! cursor, and one guarded update that never leaves the service without
//! an enabled admin, even when two admins demote each other at once.

use futures_util::future::join_all;
use gatehouse_domain::*;

use super::support::*;
use crate::ports::*;

async fn with_role<S: UserStore>(store: &S, email: &str, role: Role) -> UserId {
    let mut user = new_user(email);
    user.role = role;
    let id = user.id;
    store
        .create_user(user, None, audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    id
}

fn update(user_id: UserId, role: Option<Role>, disabled: Option<bool>) -> UserUpdate {
    UserUpdate {
        user_id,
        role,
        disabled,
        at: at(10),
        audit: audit(AuditKind::AdminUserUpdated, user_id),
    }
}

/// Pages of users in id order: each page starts after the last id of the
/// one before, and the last page is short.
pub async fn users_are_listed_in_id_order_after_a_cursor<S: UserStore + AdminStore>(store: &S) {
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(with_role(store, &format!("u{n}@example.com"), Role::User).await);
    }
    ids.sort_by_key(|id| id.as_uuid());
    let page = |after, limit| async move {
        store
            .list_users(UserQuery {
                after,
                limit,
                email_contains: None,
            })
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(page(None, 2).await, ids[..2]);
    assert_eq!(page(Some(ids[1]), 2).await, ids[2..4]);
    assert_eq!(page(Some(ids[3]), 2).await, ids[4..]);
    assert!(page(Some(ids[4]), 2).await.is_empty());
    assert_eq!(page(None, 10).await, ids);
}

/// An update changes what it names and nothing else, answers the user as
/// it now is, and records the event; disabling ends every session (the
/// count goes in the event), enabling starts none; an unknown user is
/// `NotFound`.
pub async fn an_update_changes_what_it_names_and_disabling_ends_sessions<
    S: UserStore + AdminStore + SessionStore,
>(
    store: &S,
) {
    with_role(store, "admin@example.com", Role::Admin).await;
    let bob = with_role(store, "bob@example.com", Role::User).await;
    for token in [1, 2] {
        store
            .start_session(
                new_session(bob, token),
                audit(AuditKind::LoginSucceeded, bob),
            )
            .await
            .unwrap();
    }
    let promoted = store
        .update_user(update(bob, Some(Role::Admin), None))
        .await
        .unwrap();
    assert_eq!((promoted.role, promoted.disabled), (Role::Admin, false));
    assert_eq!(store.live_sessions(bob, at(11)).await.unwrap().len(), 2);

    let disabled = store
        .update_user(update(bob, None, Some(true)))
        .await
        .unwrap();
    assert_eq!((disabled.role, disabled.disabled), (Role::Admin, true));
    assert_eq!(store.find_user(bob).await.unwrap().unwrap(), disabled);
    assert!(store.live_sessions(bob, at(11)).await.unwrap().is_empty());
    let events = store
        .audit_events(AuditQuery {
            user_id: Some(bob),
            kind: Some(AuditKind::AdminUserUpdated),
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].detail["sessions_ended"], 2, "{:?}", events[0]);

    let enabled = store
        .update_user(update(bob, Some(Role::User), Some(false)))
        .await
        .unwrap();
    assert_eq!((enabled.role, enabled.disabled), (Role::User, false));
    assert!(
        store.live_sessions(bob, at(11)).await.unwrap().is_empty(),
        "enabling starts no session"
    );
    let missing = store
        .update_user(update(UserId::new(), None, Some(true)))
        .await;
    assert!(
        matches!(missing, Err(UpdateUserError::NotFound)),
        "{missing:?}"
    );
}

/// The last enabled admin can be neither demoted nor disabled (nothing
/// changes); once another admin is enabled, it can. A disabled admin does
/// not count.
pub async fn the_last_enabled_admin_stays<S: UserStore + AdminStore>(store: &S) {
    let root = with_role(store, "root@example.com", Role::Admin).await;
    let spare = with_role(store, "spare@example.com", Role::Admin).await;
    store
        .update_user(update(spare, None, Some(true)))
        .await
        .unwrap();
    for (role, disabled) in [(Some(Role::User), None), (None, Some(true))] {
        let refused = store.update_user(update(root, role, disabled)).await;
        assert!(
            matches!(refused, Err(UpdateUserError::LastAdmin)),
            "{refused:?}"
        );
        let root = store.find_user(root).await.unwrap().unwrap();
        assert_eq!((root.role, root.disabled), (Role::Admin, false));
    }
    store
        .update_user(update(spare, None, Some(false)))
        .await
        .unwrap();
    let demoted = store
        .update_user(update(root, Some(Role::User), None))
        .await
        .unwrap();
    assert_eq!(demoted.role, Role::User);
}

/// Two admins demote each other at the same time, round after round:
/// exactly one succeeds each time, and an admin always remains.
pub async fn two_admins_demoting_each_other_leave_one<S: UserStore + AdminStore>(store: &S) {
    let mut survivor: Option<UserId> = None;
    for round in 0..5 {
        let a = with_role(store, &format!("a{round}@example.com"), Role::Admin).await;
        let b = with_role(store, &format!("b{round}@example.com"), Role::Admin).await;
        // The last round's survivor steps down: the pair are the only admins.
        if let Some(previous) = survivor {
            store
                .update_user(update(previous, Some(Role::User), None))
                .await
                .unwrap();
        }
        let results = join_all(
            [b, a].map(|target| store.update_user(update(target, Some(Role::User), None))),
        )
        .await;
        let mut demoted = 0;
        for result in results {
            match result {
                Ok(user) => {
                    assert_eq!(user.role, Role::User);
                    demoted += 1;
                }
                Err(UpdateUserError::LastAdmin) => {}
                Err(other) => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(demoted, 1, "round {round}");
        let admins: Vec<UserId> = store
            .list_users(UserQuery {
                limit: 100,
                ..UserQuery::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|u| u.role == Role::Admin && !u.disabled)
            .map(|u| u.id)
            .collect();
        assert_eq!(admins.len(), 1, "round {round}");
        survivor = admins.first().copied();
    }
}

/// The email filter matches a part of the (lower-case) email literally,
/// wildcards included, and pages like the unfiltered list.
pub async fn users_are_found_by_a_part_of_their_email<S: UserStore + AdminStore>(store: &S) {
    let ann = with_role(store, "ann.smith@example.com", Role::User).await;
    with_role(store, "bob@example.org", Role::User).await;
    let odd = with_role(store, "a_b%c@example.com", Role::User).await;
    let found = |fragment: &str, after, limit| {
        let fragment = fragment.to_owned();
        async move {
            store
                .list_users(UserQuery {
                    after,
                    limit,
                    email_contains: Some(fragment),
                })
                .await
                .unwrap()
                .into_iter()
                .map(|u| u.id)
                .collect::<Vec<_>>()
        }
    };
    let mut both = vec![ann, odd];
    both.sort_by_key(|id| id.as_uuid());
    assert_eq!(found("example.com", None, 10).await, both);
    assert_eq!(found("smith", None, 10).await, [ann]);
    assert_eq!(
        found("%", None, 10).await,
        [odd],
        "% is a character, not a wildcard"
    );
    assert_eq!(found("_", None, 10).await, [odd], "so is _");
    assert!(found("nobody", None, 10).await.is_empty());
    assert_eq!(found("example.com", None, 1).await, both[..1]);
    assert_eq!(found("example.com", Some(both[0]), 1).await, both[1..]);
}
