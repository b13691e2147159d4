use std::time::Duration;

use gatehouse_adapter_crypto::DataKeyCipher;
use gatehouse_application::AuthPolicy;
use gatehouse_application::use_cases::mail::{DeliverMail, DeliveryReport};
use gatehouse_domain::SecretString;

use crate::support::*;

/// Registration queues the verification mail; one pass delivers it, its
/// body opened from the sealed outbox row, and erases the body.
#[tokio::test]
async fn a_pass_delivers_what_is_due_and_erases_its_body() {
    let ports = ports().await;
    register(&ports).await;
    assert!(
        ports.mailer.sent().is_empty(),
        "no request waits for the transport"
    );
    let report = DeliverMail::new(&ports).execute().await.unwrap();
    assert_eq!(
        report,
        DeliveryReport {
            claimed: 1,
            sent: 1,
            ..DeliveryReport::default()
        }
    );
    let sent = ports.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.as_str(), EMAIL);
    assert!(sent[0].body.expose().contains("/verify-email?token="));
    let outbox = ports.store.outbox().await;
    assert!(outbox[0].sent && outbox[0].body_erased);
    let again = DeliverMail::new(&ports).execute().await.unwrap();
    assert_eq!(again, DeliveryReport::default(), "sent once");
}

#[tokio::test]
async fn a_refused_mail_is_retried_with_doubling_waits_then_sent() {
    let ports = ports().await;
    register(&ports).await;
    ports.mailer.refuse(true);
    let first_retry = ports.policy.mail_delivery.first_retry;

    let report = DeliverMail::new(&ports).execute().await.unwrap();
    assert_eq!((report.claimed, report.retried), (1, 1));
    let queued = &ports.store.outbox().await[0];
    assert_eq!(queued.attempts, 1);
    assert_eq!(
        queued.next_attempt_at,
        start() + chrono::Duration::from_std(first_retry).unwrap()
    );
    assert!(!queued.body_erased);

    ports.clock.advance(first_retry - Duration::from_millis(1));
    assert_eq!(
        DeliverMail::new(&ports).execute().await.unwrap().claimed,
        0,
        "not yet"
    );
    ports.clock.advance(Duration::from_millis(1));
    DeliverMail::new(&ports).execute().await.unwrap();
    let queued = &ports.store.outbox().await[0];
    assert_eq!(queued.attempts, 2);
    assert_eq!(
        queued.next_attempt_at - ports.clock_now(),
        chrono::Duration::from_std(first_retry * 2).unwrap(),
        "the wait doubles"
    );

    ports.mailer.refuse(false);
    ports.clock.advance(first_retry * 2);
    let report = DeliverMail::new(&ports).execute().await.unwrap();
    assert_eq!(report.sent, 1);
    assert_eq!(ports.mailer.sent().len(), 1, "sent once it is back");
}

#[tokio::test]
async fn a_mail_still_refused_after_a_day_is_given_up() {
    let ports = ports().await;
    register(&ports).await;
    ports.mailer.refuse(true);
    let mut passes = 0;
    loop {
        let report = DeliverMail::new(&ports).execute().await.unwrap();
        if report.failed == 1 {
            break;
        }
        passes += 1;
        assert!(passes < 200, "never given up");
        ports.clock.advance(ports.policy.mail_delivery.max_retry);
    }
    let queued = &ports.store.outbox().await[0];
    assert!(queued.failed && queued.body_erased);
    assert!(ports.clock_now() - start() <= chrono::Duration::hours(24));
    ports.mailer.refuse(false);
    ports.clock.advance(Duration::from_secs(86_400));
    assert_eq!(DeliverMail::new(&ports).execute().await.unwrap().claimed, 0);
    assert!(ports.mailer.sent().is_empty());
}

#[tokio::test]
async fn a_body_sealed_under_another_key_is_given_up_not_retried() {
    let writer = ports().await;
    register(&writer).await;
    let mut reader = ports_with(AuthPolicy::default()).await;
    reader.store = writer.store.clone();
    reader.cipher = DataKeyCipher::new(&SecretString::new("another-data-key-of-at-least-32-bytes"));
    let report = DeliverMail::new(&reader).execute().await.unwrap();
    assert_eq!((report.claimed, report.failed), (1, 1));
    assert!(reader.mailer.sent().is_empty());
}
