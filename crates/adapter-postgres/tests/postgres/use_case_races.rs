//! The use cases under real concurrency on PostgreSQL: many tasks on a
//! multi-threaded runtime, each on its own pooled connection (or two
//! instances' pools), one token, one outbox, one bootstrap. The store
//! contract holds each store's part of these races; here the whole path
//! (use case, unit of work, statements and locks) runs side by side, which
//! the SQLite store, with its one writer, never does.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_application::AuthPolicy;
use gatehouse_application::policy::DeliveryPolicy;
use gatehouse_application::ports::{
    Clock, DataCipher, OutboxTx, OutgoingMail, SealPurpose, Transactional, UnitOfWork,
};
use gatehouse_application::use_cases::mail::DeliverMail;
use gatehouse_application::use_cases::{RotateRefreshToken, RotateRefreshTokenError, TokenPair};
use gatehouse_domain::Email;
use tokio::sync::Barrier;

use crate::support::*;

const TASKS: usize = 32;

async fn refreshed_events(db: &TestDatabase) -> i64 {
    count(
        db,
        "SELECT count(*) AS n FROM audit_events WHERE kind = 'token.refreshed'",
    )
    .await
}

async fn present_concurrently(
    ports: Arc<PgPorts>,
    token: String,
) -> Vec<Result<TokenPair, RotateRefreshTokenError>> {
    let barrier = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (ports, token, barrier) = (Arc::clone(&ports), token.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                RotateRefreshToken::new(&*ports)
                    .execute(&token, &client())
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

async fn current_tokens(db: &TestDatabase) -> i64 {
    count(
        db,
        "SELECT count(*) AS n FROM refresh_tokens WHERE rotated_at IS NULL",
    )
    .await
}

async fn alerts_queued(db: &TestDatabase) -> i64 {
    count(
        db,
        "SELECT count(*) AS n FROM mail_outbox WHERE subject LIKE 'Security alert%'",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_zero_grace_exactly_one_of_many_concurrent_presentations_wins() {
    let db = TestDatabase::create().await;
    let ports = Arc::new(ports(
        &db,
        AuthPolicy {
            refresh_reuse_grace: Duration::ZERO,
            audit_refreshes: true,
            ..AuthPolicy::default()
        },
    ));
    let first = register(&ports, "race@example.com")
        .await
        .tokens
        .refresh_token
        .expose()
        .to_owned();

    let results = present_concurrently(Arc::clone(&ports), first).await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    for loser in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(loser, RotateRefreshTokenError::Reused),
            "{loser:?}"
        );
    }
    // One successor was ever written; the family did not fork.
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM refresh_tokens").await,
        2
    );
    assert!(current_tokens(&db).await <= 1);
    assert_eq!(
        refreshed_events(&db).await,
        1,
        "one rotation, one audit row"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn within_grace_every_concurrent_presentation_gets_the_identical_successor() {
    let db = TestDatabase::create().await;
    let ports = Arc::new(ports(
        &db,
        AuthPolicy {
            audit_refreshes: true,
            ..AuthPolicy::default()
        },
    ));
    let first = register(&ports, "race@example.com")
        .await
        .tokens
        .refresh_token
        .expose()
        .to_owned();

    let results = present_concurrently(Arc::clone(&ports), first).await;
    let successors: HashSet<String> = results
        .into_iter()
        .map(|r| r.unwrap().refresh_token.expose().to_owned())
        .collect();
    assert_eq!(successors.len(), 1);
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM refresh_tokens").await,
        2
    );
    assert_eq!(current_tokens(&db).await, 1);
    // Replays write nothing: one rotation, one audit row, one touch.
    assert_eq!(refreshed_events(&db).await, 1);
    // The successor is the family's live token.
    let successor = successors.into_iter().next().unwrap();
    RotateRefreshToken::new(&*ports)
        .execute(&successor, &client())
        .await
        .unwrap();
}

#[tokio::test]
async fn reuse_after_grace_revokes_the_family_audits_and_alerts() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let first = register(&ports, "victim@example.com")
        .await
        .tokens
        .refresh_token;
    let second = RotateRefreshToken::new(&ports)
        .execute(first.expose(), &client())
        .await
        .unwrap()
        .refresh_token;
    ports.clock.advance(Duration::from_secs(11));

    let err = RotateRefreshToken::new(&ports)
        .execute(first.expose(), &client())
        .await
        .unwrap_err();
    assert!(matches!(err, RotateRefreshTokenError::Reused), "{err:?}");
    let err = RotateRefreshToken::new(&ports)
        .execute(second.expose(), &client())
        .await
        .unwrap_err();
    assert!(matches!(err, RotateRefreshTokenError::Invalid), "{err:?}");

    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM sessions WHERE revoke_reason = 'reuse_detected'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM audit_events WHERE kind = 'refresh.reuse_detected'"
        )
        .await,
        1
    );
    assert_eq!(
        alerts_queued(&db).await,
        1,
        "one alert, queued with the revocation"
    );
}

/// Many concurrent presentations of a reused token raise one alarm: the
/// locked path reads the session after taking its lock, so every one after
/// the first sees the family already revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reuse_raises_one_alarm() {
    let db = TestDatabase::create().await;
    let ports = Arc::new(ports(&db, AuthPolicy::default()));
    let first = register(&ports, "copied@example.com")
        .await
        .tokens
        .refresh_token
        .expose()
        .to_owned();
    RotateRefreshToken::new(&*ports)
        .execute(&first, &client())
        .await
        .unwrap();
    ports.clock.advance(Duration::from_secs(11));

    let results = present_concurrently(Arc::clone(&ports), first).await;
    for result in &results {
        assert!(
            matches!(result, Err(RotateRefreshTokenError::Reused)),
            "{:?}",
            result.as_ref().map(|_| "a token pair")
        );
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM audit_events WHERE kind = 'refresh.reuse_detected'"
        )
        .await,
        1
    );
    assert_eq!(
        alerts_queued(&db).await,
        1,
        "one alert, queued with the revocation"
    );
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

fn small_batches() -> AuthPolicy {
    AuthPolicy {
        mail_delivery: DeliveryPolicy {
            batch: 3,
            ..DeliveryPolicy::default()
        },
        ..AuthPolicy::default()
    }
}

async fn queue(ports: &PgPorts, n: usize) {
    let mut tx = ports.store.begin().await.unwrap();
    for i in 0..n {
        let id = uuid::Uuid::now_v7();
        tx.enqueue(OutgoingMail {
            id,
            to: Email::parse(&format!("user{i}@example.com")).unwrap(),
            subject: format!("mail {i}"),
            sealed_body: ports
                .cipher
                .seal(SealPurpose::MailBody, id.as_bytes(), b"hello")
                .unwrap(),
            queued_at: ports.clock.now(),
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// Two instances (two pools, two transports) drain one outbox at once:
/// every mail goes out, and through exactly one of them, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_senders_deliver_each_mail_exactly_once() {
    let db = TestDatabase::create().await;
    let first = Arc::new(ports(&db, small_batches()));
    let second = Arc::new(ports(&db, small_batches()));
    // Warm both pools, so that neither sender starts late.
    for ports in [&first, &second] {
        assert_eq!(
            DeliverMail::new(&**ports).execute().await.unwrap().claimed,
            0
        );
    }
    queue(&first, 60).await;
    let barrier = Arc::new(Barrier::new(2));
    let drain = |ports: Arc<PgPorts>, barrier: Arc<Barrier>| {
        tokio::spawn(async move {
            barrier.wait().await;
            let mut passes = 0;
            while DeliverMail::new(&*ports).execute().await.unwrap().claimed > 0 {
                passes += 1;
            }
            passes
        })
    };
    let a = drain(Arc::clone(&first), Arc::clone(&barrier));
    let b = drain(Arc::clone(&second), barrier);
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert!(a > 0 && b > 0, "both senders took part: {a} and {b} passes");

    let sent: Vec<String> = first
        .mailer
        .sent()
        .into_iter()
        .chain(second.mailer.sent())
        .map(|m| m.subject)
        .collect();
    let distinct: HashSet<&String> = sent.iter().collect();
    assert_eq!(sent.len(), 60, "no mail sent twice");
    assert_eq!(distinct.len(), 60, "no mail left behind");
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NOT NULL AND sealed_body IS NULL").await,
        60
    );
}
