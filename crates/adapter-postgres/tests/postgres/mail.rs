//! The outbox and the mailed single-use tokens under real concurrency.

use std::collections::HashSet;
use std::sync::Arc;

use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_application::AuthPolicy;
use gatehouse_application::policy::DeliveryPolicy;
use gatehouse_application::ports::Clock;
use gatehouse_application::ports::{
    DataCipher, OutboxTx, OutgoingMail, SealPurpose, Transactional, UnitOfWork,
};
use gatehouse_application::use_cases::email::{VerifyEmail, VerifyEmailError};
use gatehouse_application::use_cases::mail::DeliverMail;
use gatehouse_application::use_cases::password::{
    RequestPasswordReset, ResetPassword, ResetPasswordCommand, ResetPasswordError,
};
use gatehouse_domain::{Email, Password};
use tokio::sync::Barrier;

use crate::support::*;

const TASKS: usize = 16;

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

pub(crate) async fn queued_link(ports: &PgPorts, subject: &str) -> String {
    DeliverMail::new(ports).execute().await.unwrap();
    let mail = ports
        .mailer
        .sent()
        .into_iter()
        .rev()
        .find(|m| m.subject.contains(subject))
        .expect("the mail");
    let body = mail.body.expose();
    let start = body.find("?token=").unwrap() + "?token=".len();
    body[start..].split_whitespace().next().unwrap().to_owned()
}

/// `TASKS` resets at once, spread over `links`; answers how many succeeded.
/// Any answer but success or `RESET_TOKEN_INVALID` (a deadlock, say) fails.
async fn race_resets(ports: &Arc<PgPorts>, links: &[String]) -> usize {
    let barrier = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let (ports, barrier) = (Arc::clone(ports), Arc::clone(&barrier));
            let token = links[i % links.len()].clone();
            tokio::spawn(async move {
                barrier.wait().await;
                ResetPassword::new(&*ports)
                    .execute(ResetPasswordCommand {
                        token: gatehouse_domain::SecretString::new(token),
                        new_password: Password::presented(&format!("racing passphrase {i}")),
                        client: client(),
                    })
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(ResetPasswordError::InvalidToken) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_resets_with_one_link_let_exactly_one_through() {
    let db = TestDatabase::create().await;
    let ports = Arc::new(ports(&db, AuthPolicy::default()));
    register(&ports, "race@example.com").await;
    RequestPasswordReset::new(&*ports)
        .execute(Email::parse("race@example.com").unwrap(), &client())
        .await
        .unwrap();
    let token = queued_link(&ports, "Reset").await;
    assert_eq!(race_resets(&ports, &[token]).await, 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM audit_events WHERE kind = 'password.reset'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_verifications_with_one_link_let_exactly_one_through() {
    let db = TestDatabase::create().await;
    let ports = Arc::new(ports(&db, AuthPolicy::default()));
    register(&ports, "verify-race@example.com").await;
    let token = queued_link(&ports, "Confirm").await;
    let barrier = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (ports, token, barrier) = (Arc::clone(&ports), token.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                VerifyEmail::new(&*ports).execute(&token, &client()).await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(VerifyEmailError::InvalidToken) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM audit_events WHERE kind = 'email.verified'"
        )
        .await,
        1
    );
}

/// A copy of the database yields no usable link: the outbox holds the
/// body sealed (and erases it once sent), the token table a digest.
#[tokio::test]
async fn the_reset_link_is_not_readable_at_rest() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    register(&ports, "at-rest@example.com").await;
    RequestPasswordReset::new(&ports)
        .execute(Email::parse("at-rest@example.com").unwrap(), &client())
        .await
        .unwrap();
    let leaked = count(
        &db,
        "SELECT count(*) AS n FROM mail_outbox WHERE position('token='::bytea in sealed_body) > 0",
    )
    .await;
    assert_eq!(leaked, 0, "bodies are sealed");
    let token = queued_link(&ports, "Reset").await;
    let stored = count(
        &db,
        &format!("SELECT count(*) AS n FROM account_tokens WHERE digest = sha256(convert_to('{token}', 'UTF8'))"),
    )
    .await;
    assert_eq!(stored, 1, "the link's digest is what is kept");
    let in_clear = count(
        &db,
        &format!(
            "SELECT count(*) AS n FROM account_tokens t, mail_outbox m, audit_events a \
             WHERE position('{token}' in encode(t.digest, 'escape')) > 0 \
                OR position('{token}' in m.subject || m.recipient) > 0 \
                OR position('{token}' in a.detail::text) > 0"
        ),
    )
    .await;
    assert_eq!(in_clear, 0, "the token itself is nowhere");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM mail_outbox WHERE sealed_body IS NOT NULL"
        )
        .await,
        0,
        "sent bodies are erased"
    );
}

/// Parallel requests for one account are counted one after the other:
/// no burst gets past the hourly limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_reset_requests_mails_at_most_the_hourly_limit() {
    let db = TestDatabase::create().await;
    let ports = Arc::new(ports(&db, AuthPolicy::default()));
    register(&ports, "burst@example.com").await;
    let barrier = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (ports, barrier) = (Arc::clone(&ports), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                RequestPasswordReset::new(&*ports)
                    .execute(Email::parse("burst@example.com").unwrap(), &client())
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM account_tokens WHERE purpose = 'password_reset'"
        )
        .await,
        5
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM mail_outbox WHERE subject LIKE 'Reset%'"
        )
        .await,
        5
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM audit_events WHERE kind = 'password.reset_requested'"
        )
        .await,
        TASKS as i64,
        "every request is recorded"
    );
}

/// Two links of one account spent at the same time: the spends queue on
/// the account instead of deadlocking on each other's sibling links, and
/// exactly one succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_links_of_one_account_spent_at_once_do_not_deadlock() {
    let db = TestDatabase::create().await;
    let ports = Arc::new(ports(&db, AuthPolicy::default()));
    for round in 0..4 {
        let email = format!("two-links-{round}@example.com");
        register(&ports, &email).await;
        let mut links = Vec::new();
        for _ in 0..2 {
            RequestPasswordReset::new(&*ports)
                .execute(Email::parse(&email).unwrap(), &client())
                .await
                .unwrap();
            links.push(queued_link(&ports, "Reset").await);
        }
        assert_ne!(links[0], links[1]);
        assert_eq!(race_resets(&ports, &links).await, 1, "round {round}");
    }
}
