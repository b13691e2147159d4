//! The mail outbox: a mail exists when its unit of work commits, a claim
//! leases it, outcomes stick, and concurrent senders never share one.

use std::collections::HashSet;

use futures_util::future::join_all;

use super::support::*;
use crate::ports::*;

/// A mail queued in a unit of work exists exactly when it commits; a
/// claim holds it for its lease and counts an attempt; outcomes stick.
pub async fn the_outbox_claims_leases_and_settles<S: MailOutbox + Transactional>(store: &S) {
    let committed = mail_to("one@example.com", at(0));
    let mut tx = store.begin().await.unwrap();
    tx.enqueue(committed.clone()).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.enqueue(mail_to("rolled-back@example.com", at(0)))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    {
        let mut tx = store.begin().await.unwrap();
        tx.enqueue(mail_to("dropped@example.com", at(0)))
            .await
            .unwrap();
    }
    let later = mail_to("two@example.com", at(5));
    let mut tx = store.begin().await.unwrap();
    tx.enqueue(later.clone()).await.unwrap();
    tx.commit().await.unwrap();

    let claimed = store.claim_due_mail(at(1), at(100), 10).await.unwrap();
    assert_eq!(claimed.len(), 1, "only the committed mail that is due");
    assert_eq!(claimed[0].mail.id, committed.id);
    assert_eq!(claimed[0].mail.to, committed.to);
    assert_eq!(claimed[0].mail.sealed_body, committed.sealed_body);
    assert_eq!(claimed[0].attempts, 1);
    let claimed = store.claim_due_mail(at(10), at(100), 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|c| c.mail.id).collect::<Vec<_>>(),
        vec![later.id],
        "the first is leased until 100"
    );
    let claimed = store.claim_due_mail(at(100), at(200), 1).await.unwrap();
    assert_eq!(claimed.len(), 1, "the limit holds");
    assert_eq!(claimed[0].mail.id, committed.id, "longest due first");
    assert_eq!(claimed[0].attempts, 2, "a lapsed lease is claimed again");
    let mut lapsed = claimed[0].clone();
    lapsed.attempts = 1;
    store
        .settle_mail(&lapsed, DeliveryOutcome::Sent, at(150))
        .await
        .unwrap();

    let claimed = store.claim_due_mail(at(200), at(300), 10).await.unwrap();
    assert_eq!(
        claimed.len(),
        2,
        "a settle from a lapsed claim changed nothing"
    );
    for claim in &claimed {
        store
            .settle_mail(claim, DeliveryOutcome::RetryAt(at(450)), at(201))
            .await
            .unwrap();
    }
    assert!(
        store
            .claim_due_mail(at(449), at(500), 10)
            .await
            .unwrap()
            .is_empty(),
        "not before the retry time"
    );
    let claimed = store.claim_due_mail(at(450), at(600), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    for claim in &claimed {
        let outcome = if claim.mail.id == committed.id {
            DeliveryOutcome::Sent
        } else {
            DeliveryOutcome::Failed
        };
        store.settle_mail(claim, outcome, at(451)).await.unwrap();
    }
    assert!(
        pending(store).await.is_empty(),
        "sent and failed stay settled"
    );
}

/// Many senders claiming at once never share a mail, and together take
/// every due one.
pub async fn concurrent_claims_never_share_a_mail<S: MailOutbox + Transactional>(store: &S) {
    use crate::ports::{OutboxTx, UnitOfWork};
    let mut queued = HashSet::new();
    let mut tx = store.begin().await.unwrap();
    for _ in 0..12 {
        let mail = mail_to("queue@example.com", at(0));
        queued.insert(mail.id);
        tx.enqueue(mail).await.unwrap();
    }
    tx.commit().await.unwrap();
    let claims = join_all((0..8).map(|_| store.claim_due_mail(at(1), at(600), 3))).await;
    let mut claimed = Vec::new();
    for claim in claims {
        claimed.extend(claim.unwrap().into_iter().map(|c| c.mail.id));
    }
    let distinct: HashSet<_> = claimed.iter().copied().collect();
    assert_eq!(distinct.len(), claimed.len(), "no mail claimed twice");
    assert_eq!(distinct, queued, "every due mail claimed");
}
