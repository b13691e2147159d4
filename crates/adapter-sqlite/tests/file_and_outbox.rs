//! What only the SQLite store has to get right: the file it makes, and an
//! outbox row it cannot read.

use gatehouse_adapter_sqlite::test_support::TestDatabase;
use gatehouse_application::ports::{MailOutbox, OutboxTx, OutgoingMail, Transactional, UnitOfWork};
use gatehouse_domain::Email;

#[cfg(unix)]
#[tokio::test]
async fn the_database_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDatabase::create().await;
    let mode = std::fs::metadata(db.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

#[tokio::test]
async fn an_unreadable_mail_is_given_up_and_the_rest_still_go() {
    let db = TestDatabase::create().await;
    let store = db.store();
    let now = chrono::Utc::now();
    db.execute(
        "INSERT INTO mail_outbox (id, recipient, subject, sealed_body, queued_at, next_attempt_at) \
         VALUES ('00000000-0000-4000-8000-000000000001', 'not an address', 's', x'00', 0, 0)",
    )
    .await;
    let good = OutgoingMail {
        id: uuid::Uuid::now_v7(),
        to: Email::parse("fine@example.com").unwrap(),
        subject: "fine".into(),
        sealed_body: vec![1, 2, 3],
        queued_at: now,
    };
    let mut tx = store.begin().await.unwrap();
    tx.enqueue(good.clone()).await.unwrap();
    tx.commit().await.unwrap();
    let claimed = store
        .claim_due_mail(now, now + chrono::Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].mail.id, good.id);
    assert_eq!(
        db.count("SELECT count(*) AS n FROM mail_outbox WHERE failed_at IS NOT NULL AND sealed_body IS NULL")
            .await,
        1
    );
}
