//! The contract of the outbox and of the mailed single-use tokens.

use gatehouse_domain::{AuditEvent, AuditKind, ClientInfo, Email, PasswordHash, Timestamp, UserId};

use super::{at, audit, digest, new_session, new_user};
use crate::ports::{
    AccountTokenStore, ClaimedMail, DeliveryOutcome, EmailVerification, MailOutbox, MailedToken,
    OutboxTx, OutgoingMail, PasswordReset, ResetRequest, SessionStore, Throttle, TokenPurpose,
    Transactional, UnitOfWork, UserStore, VerificationRequest,
};

/// A queued mail to `to`; its body is opaque to the store.
pub fn mail_to(to: &str, queued_at: Timestamp) -> OutgoingMail {
    OutgoingMail {
        id: uuid::Uuid::now_v7(),
        to: Email::parse(to).unwrap(),
        subject: "contract".into(),
        sealed_body: vec![7; 40],
        queued_at,
    }
}

/// Every mail not yet sent or given up, claimed far in the future (so this
/// ends the test's use of the outbox).
pub async fn pending<S: MailOutbox>(store: &S) -> Vec<ClaimedMail> {
    store
        .claim_due_mail(at(1_000_000), at(2_000_000), 1_000)
        .await
        .unwrap()
}

fn token(byte: u8, purpose: TokenPurpose, to: &str, created: i64, ttl: i64) -> MailedToken {
    MailedToken {
        digest: digest(byte),
        purpose,
        created_at: at(created),
        expires_at: at(created + ttl),
        mail: mail_to(to, at(created)),
    }
}

fn no_throttle(now: i64) -> Throttle {
    Throttle {
        since: at(now - 3_600),
        max: 100,
    }
}

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

/// A reset request writes only for a known email and under the throttle;
/// the token works once, before it expires, on its purpose only, and the
/// reset ends the user's sessions.
pub async fn reset_tokens_work_once<S>(store: &S)
where
    S: UserStore + SessionStore + AccountTokenStore + MailOutbox,
{
    let user = new_user("reset@example.com");
    let id = user.id;
    store
        .create_user(
            user,
            Some(new_session(id, 1)),
            audit(AuditKind::UserRegistered, id),
        )
        .await
        .unwrap();
    let request = |byte: u8, email: &str, throttle: Throttle| ResetRequest {
        email: Email::parse(email).unwrap(),
        token: token(byte, TokenPurpose::PasswordReset, email, 0, 1_800),
        throttle,
        audit: AuditEvent::new(
            AuditKind::PasswordResetRequested,
            at(0),
            None,
            &ClientInfo::default(),
        ),
    };
    assert!(
        !store
            .request_password_reset(request(10, "nobody@example.com", no_throttle(0)))
            .await
            .unwrap()
    );
    assert!(
        store
            .request_password_reset(request(11, "reset@example.com", no_throttle(0)))
            .await
            .unwrap()
    );
    assert!(
        store
            .request_password_reset(request(12, "reset@example.com", no_throttle(0)))
            .await
            .unwrap()
    );
    let throttled = Throttle {
        since: at(-3_600),
        max: 2,
    };
    assert!(
        !store
            .request_password_reset(request(13, "reset@example.com", throttled))
            .await
            .unwrap(),
        "two in the window already"
    );
    let found = store
        .find_token_user(&digest(11), TokenPurpose::PasswordReset, at(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, id);
    for (byte, purpose, now) in [
        (13, TokenPurpose::PasswordReset, 1),
        (11, TokenPurpose::EmailVerification, 1),
        (11, TokenPurpose::PasswordReset, 1_800),
    ] {
        assert!(
            store
                .find_token_user(&digest(byte), purpose, at(now))
                .await
                .unwrap()
                .is_none(),
            "{byte} {purpose:?} at {now}"
        );
    }

    let new_hash = PasswordHash::new("$argon2id$v=19$m=128,t=1,p=1$c2FsdHNhbHQ$cmVzZXQ");
    let reset = |byte: u8, now: i64| PasswordReset {
        digest: digest(byte),
        new_hash: new_hash.clone(),
        at: at(now),
        throttle_account: crate::ports::ThrottleKey("contract-reset-account-0123".into()),
        audit: AuditEvent::new(
            AuditKind::PasswordReset,
            at(now),
            None,
            &ClientInfo::default(),
        ),
    };
    assert_eq!(
        store.reset_password(reset(11, 1_800)).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.live_sessions(id, at(2)).await.unwrap().len(), 1);
    assert_eq!(store.reset_password(reset(11, 2)).await.unwrap(), Some(id));
    assert_eq!(store.live_sessions(id, at(3)).await.unwrap().len(), 0);
    let stored = store
        .find_credentials(&Email::parse("reset@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.password_hash, new_hash);
    assert_eq!(
        store.reset_password(reset(11, 3)).await.unwrap(),
        None,
        "used"
    );
    assert_eq!(
        store.reset_password(reset(12, 3)).await.unwrap(),
        None,
        "a reset spends the user's other links too"
    );
    assert_eq!(pending(store).await.len(), 2, "one mail per written token");
}

/// Verification: the link of registration verifies once; a resend writes
/// only while the email is unverified and under the throttle.
pub async fn verification_tokens_work_once<S>(store: &S)
where
    S: UserStore + AccountTokenStore + MailOutbox,
{
    let mut user = new_user("verify@example.com");
    let id = user.id;
    user.verification = Some(token(
        20,
        TokenPurpose::EmailVerification,
        "verify@example.com",
        0,
        86_400,
    ));
    store
        .create_user(user, None, audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    let resend = |byte: u8, throttle: Throttle| VerificationRequest {
        user_id: id,
        token: token(
            byte,
            TokenPurpose::EmailVerification,
            "verify@example.com",
            10,
            86_400,
        ),
        throttle,
    };
    assert!(
        !store
            .request_verification(resend(
                21,
                Throttle {
                    since: at(-3_590),
                    max: 1
                }
            ))
            .await
            .unwrap(),
        "the registration's link counts"
    );
    assert!(
        store
            .request_verification(resend(22, no_throttle(10)))
            .await
            .unwrap()
    );
    assert!(
        !store
            .request_verification(VerificationRequest {
                user_id: UserId::new(),
                ..resend(23, no_throttle(10))
            })
            .await
            .unwrap(),
        "unknown user"
    );
    let verify = |byte: u8, now: i64| EmailVerification {
        digest: digest(byte),
        at: at(now),
        audit: AuditEvent::new(
            AuditKind::EmailVerified,
            at(now),
            None,
            &ClientInfo::default(),
        ),
    };
    assert_eq!(
        store.verify_email(verify(21, 20)).await.unwrap(),
        None,
        "never written"
    );
    assert_eq!(store.verify_email(verify(20, 20)).await.unwrap(), Some(id));
    assert!(store.find_user(id).await.unwrap().unwrap().email_verified);
    assert_eq!(
        store.verify_email(verify(20, 21)).await.unwrap(),
        None,
        "used"
    );
    assert_eq!(
        store.verify_email(verify(22, 21)).await.unwrap(),
        None,
        "siblings are spent with it"
    );
    assert!(
        !store
            .request_verification(resend(24, no_throttle(30)))
            .await
            .unwrap(),
        "verified already"
    );
    assert_eq!(pending(store).await.len(), 2);
}
