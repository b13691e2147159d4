//! The mailed single-use tokens (password reset, email verification):
//! throttled when requested, spent once, on their purpose only.

use futures_util::future::join_all;
use gatehouse_domain::*;

use super::support::*;
use crate::ports::*;

/// A reset request writes only for a known email and under the throttle;
/// the token works once, before it expires, on its purpose only, and the
/// reset ends the user's sessions.
pub async fn reset_tokens_work_once<S>(store: &S)
where
    S: UserStore + SessionStore + AccountTokenStore + MailOutbox,
{
    let (id, _) = user_with_session(store, "reset@example.com", 1).await;
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

/// A reset link spent by many requests at once resets once.
pub async fn a_reset_link_is_spent_once_under_a_race<S>(store: &S)
where
    S: UserStore + AccountTokenStore,
{
    user(store, "race-reset@example.com").await;
    let mailed = store
        .request_password_reset(ResetRequest {
            email: Email::parse("race-reset@example.com").unwrap(),
            token: MailedToken {
                digest: digest(40),
                purpose: TokenPurpose::PasswordReset,
                created_at: at(0),
                expires_at: at(1_800),
                mail: mail_to("race-reset@example.com", at(0)),
            },
            throttle: Throttle {
                since: at(-3_600),
                max: 100,
            },
            audit: AuditEvent::new(
                AuditKind::PasswordResetRequested,
                at(0),
                None,
                &ClientInfo::default(),
            ),
        })
        .await
        .unwrap();
    assert!(mailed);
    let resets = join_all((0..RACERS).map(|i| {
        store.reset_password(PasswordReset {
            digest: digest(40),
            new_hash: PasswordHash::new(format!("$argon2id$race{i}")),
            at: at(10),
            throttle_account: crate::ports::ThrottleKey("contract-reset-account-0123".into()),
            audit: AuditEvent::new(
                AuditKind::PasswordReset,
                at(10),
                None,
                &ClientInfo::default(),
            ),
        })
    }))
    .await;
    let won: Vec<usize> = resets
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, Ok(Some(_))))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(won.len(), 1, "one reset: {resets:?}");
    assert!(resets.iter().all(Result::is_ok), "{resets:?}");
    let stored = store
        .find_credentials(&Email::parse("race-reset@example.com").unwrap())
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert_eq!(stored.as_str(), format!("$argon2id$race{}", won[0]));
}

fn reset_request(email: &str, byte: u8, max: u32) -> ResetRequest {
    ResetRequest {
        email: Email::parse(email).unwrap(),
        token: token(byte, TokenPurpose::PasswordReset, email, 0, 1_800),
        throttle: Throttle {
            since: at(-3_600),
            max,
        },
        audit: AuditEvent::new(
            AuditKind::PasswordResetRequested,
            at(0),
            None,
            &ClientInfo::default(),
        ),
    }
}

fn reset_with(byte: u8, n: usize) -> PasswordReset {
    PasswordReset {
        digest: digest(byte),
        new_hash: PasswordHash::new(format!("$argon2id$race{n}")),
        at: at(10),
        throttle_account: ThrottleKey("contract-reset-account-0123".into()),
        audit: AuditEvent::new(
            AuditKind::PasswordReset,
            at(10),
            None,
            &ClientInfo::default(),
        ),
    }
}

/// Requests for one account at once are counted one after the other: no
/// burst writes more links (or mails) than the limit.
pub async fn a_burst_of_reset_requests_stops_at_the_limit<S>(store: &S)
where
    S: UserStore + AccountTokenStore + MailOutbox,
{
    user(store, "burst@example.com").await;
    let written = join_all(
        (0..RACERS)
            .map(|n| store.request_password_reset(reset_request("burst@example.com", 50 + n, 5))),
    )
    .await;
    let written = written.into_iter().filter(|w| *w.as_ref().unwrap()).count();
    assert_eq!(written, 5);
    assert_eq!(pending(store).await.len(), 5, "one mail per link");
}

/// Two links of one account spent at the same moment, round after round:
/// the spends queue on the account (no deadlock on each other's sibling
/// links) and exactly one resets.
pub async fn two_links_of_one_account_spent_at_once_reset_once<S>(store: &S)
where
    S: UserStore + AccountTokenStore,
{
    for round in 0..4u8 {
        let email = format!("two-links-{round}@example.com");
        user(store, &email).await;
        let (a, b) = (60 + round * 2, 61 + round * 2);
        for byte in [a, b] {
            assert!(
                store
                    .request_password_reset(reset_request(&email, byte, 10))
                    .await
                    .unwrap()
            );
        }
        let (first, second) = futures_util::join!(
            store.reset_password(reset_with(a, 0)),
            store.reset_password(reset_with(b, 1))
        );
        let won = [first.unwrap(), second.unwrap()];
        assert_eq!(won.iter().flatten().count(), 1, "round {round}: {won:?}");
    }
}

/// A verification link presented by many requests at once verifies once.
pub async fn a_verification_link_is_spent_once_under_a_race<S>(store: &S)
where
    S: UserStore + AccountTokenStore,
{
    let mut user = new_user("verify-race@example.com");
    let id = user.id;
    user.verification = Some(token(
        70,
        TokenPurpose::EmailVerification,
        "verify-race@example.com",
        0,
        86_400,
    ));
    store
        .create_user(user, None, audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    let verified = join_all((0..RACERS).map(|_| {
        store.verify_email(EmailVerification {
            digest: digest(70),
            at: at(5),
            audit: AuditEvent::new(
                AuditKind::EmailVerified,
                at(5),
                None,
                &ClientInfo::default(),
            ),
        })
    }))
    .await;
    let won = verified.iter().filter(|v| matches!(v, Ok(Some(_)))).count();
    assert_eq!(won, 1, "{verified:?}");
    assert!(verified.iter().all(Result::is_ok));
}
