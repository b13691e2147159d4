//! The admin store against PostgreSQL: the last-admin guard under
//! concurrency, and the audit query's pages.

use std::sync::Arc;

use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_application::AuthPolicy;
use gatehouse_application::ports::{AdminStore, AuditQuery, UpdateUserError, UserUpdate};
use gatehouse_domain::{AuditEvent, AuditKind, Role, UserId};
use tokio::sync::Barrier;

use crate::support::*;

fn demote(id: UserId) -> UserUpdate {
    let now = chrono::Utc::now();
    UserUpdate {
        user_id: id,
        role: Some(Role::User),
        disabled: None,
        at: now,
        audit: AuditEvent::new(AuditKind::AdminUserUpdated, now, Some(id), &client()),
    }
}

/// Two admins demote each other at the same time, round after round:
/// exactly one succeeds each time, and an admin always remains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_demoting_each_other_leave_one() {
    let db = TestDatabase::create().await;
    let ports = Arc::new(ports(&db, AuthPolicy::default()));
    for round in 0..5 {
        let a = register(&ports, &format!("a{round}@example.com"))
            .await
            .user
            .id;
        let b = register(&ports, &format!("b{round}@example.com"))
            .await
            .user
            .id;
        run_sql(
            &db,
            &format!(
                "UPDATE users SET role = CASE WHEN id IN ('{a}', '{b}') THEN 'admin' ELSE 'user' END"
            ),
        )
        .await;
        let barrier = Arc::new(Barrier::new(2));
        let tasks: Vec<_> = [(a, b), (b, a)]
            .into_iter()
            .map(|(_, target)| {
                let (ports, barrier) = (Arc::clone(&ports), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    ports.store.update_user(demote(target)).await
                })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(user) => {
                    assert_eq!(user.role, Role::User);
                    ok += 1;
                }
                Err(UpdateUserError::LastAdmin) => {}
                Err(other) => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(ok, 1, "round {round}");
        assert_eq!(
            count(&db, "SELECT count(*) AS n FROM users WHERE role = 'admin'").await,
            1,
            "round {round}"
        );
    }
}

#[tokio::test]
async fn disabling_ends_sessions_and_unknown_users_are_not_found() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let bob = register(&ports, "bob@example.com").await.user.id;
    let mut update = demote(bob);
    update.role = None;
    update.disabled = Some(true);
    let user = ports.store.update_user(update.clone()).await.unwrap();
    assert!(user.disabled);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM sessions WHERE revoke_reason = 'admin_action'"
        )
        .await,
        1
    );
    update.user_id = UserId::new();
    assert!(matches!(
        ports.store.update_user(update).await,
        Err(UpdateUserError::NotFound)
    ));
    let events = ports
        .store
        .audit_events(AuditQuery {
            user_id: Some(bob),
            kind: Some(AuditKind::AdminUserUpdated),
            before: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail["sessions_ended"], 1);
}

/// Two instances ensuring the admin at once: one creates it, the other
/// finds it; one account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_started_twice_at_once_makes_one_admin() {
    use gatehouse_application::use_cases::admin::{EnsureAdmin, Ensured};
    use gatehouse_domain::{Email, Password};

    let db = TestDatabase::create().await;
    let first = Arc::new(ports(&db, AuthPolicy::default()));
    let second = Arc::new(ports(&db, AuthPolicy::default()));
    let barrier = Arc::new(Barrier::new(2));
    let tasks: Vec<_> = [first, second]
        .into_iter()
        .map(|ports| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                EnsureAdmin::new(&*ports)
                    .execute(
                        Email::parse("ops@example.com").unwrap(),
                        &Password::presented("a long admin passphrase"),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    assert_eq!(
        outcomes.iter().filter(|o| **o == Ensured::Created).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM users WHERE role = 'admin'").await,
        1
    );
}
