//! The sweep: each kind of row goes once it is past its cut-off and not
//! before, in batches, and two sweeps at once share the work.

use gatehouse_domain::*;

use super::support::*;
use crate::ports::*;

/// A sweep that takes nothing: every cut-off long past.
fn nothing(now: i64) -> Sweep {
    let never = at(-1_000_000);
    Sweep {
        grace_over_before: never,
        rotated_expired_before: never,
        sessions_ended_before: never,
        links_made_before: never,
        now: at(now),
        audit_before: never,
        mail_queued_before: never,
        throttles_idle_before: never,
        keys_ended_before: never,
        batch: 100,
    }
}

/// A rotated token's kept successor is erased once its grace is over; the
/// rotated token goes once its own idle expiry has passed, the current one
/// stays; a session goes once it ended (revoked, or past its absolute
/// end), with its tokens.
pub async fn tokens_and_sessions_go_once_past_their_time<
    S: UserStore + SessionStore + Transactional + Housekeeping,
>(
    store: &S,
) {
    let (ann, _) = user_with_session(store, "ann@example.com", 1).await;
    let rotated = store
        .rotate_if_current(attempt(1, 2, 5, 105))
        .await
        .unwrap();
    assert!(matches!(rotated, RotationOutcome::Rotated(_)));
    assert!(current_token(store, 1).await.presented.successor_kept);

    let erase = |before| Sweep {
        grace_over_before: at(before),
        ..nothing(6)
    };
    assert_eq!(store.sweep(erase(5)).await.unwrap(), Swept::default());
    let swept = store.sweep(erase(6)).await.unwrap();
    assert_eq!(swept.successors_erased, 1);
    assert_eq!(swept.total(), 1);
    let old = current_token(store, 1).await;
    assert!(!old.presented.successor_kept && old.sealed_successor.is_none());

    let expire = |before| Sweep {
        rotated_expired_before: at(before),
        ..nothing(101)
    };
    assert_eq!(store.sweep(expire(100)).await.unwrap().total(), 0);
    assert_eq!(
        store
            .sweep(expire(101))
            .await
            .unwrap()
            .rotated_tokens_deleted,
        1
    );
    let mut tx = store.begin().await.unwrap();
    assert!(tx.lock_token(&digest(1)).await.unwrap().is_none(), "gone");
    assert!(
        tx.lock_token(&digest(2)).await.unwrap().is_some(),
        "current stays"
    );
    tx.commit().await.unwrap();

    let third = new_session(ann, 3);
    let third_id = third.id;
    store
        .start_session(third, audit(AuditKind::LoginSucceeded, ann))
        .await
        .unwrap();
    assert!(
        store
            .revoke_own_session(third_id, revocation(ann, 10))
            .await
            .unwrap()
    );
    let end = |before, now| Sweep {
        sessions_ended_before: at(before),
        ..nothing(now)
    };
    assert_eq!(store.sweep(end(10, 11)).await.unwrap().total(), 0);
    assert_eq!(store.sweep(end(11, 11)).await.unwrap().sessions_deleted, 1);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.lock_token(&digest(3)).await.unwrap().is_none());
    assert!(tx.lock_token(&digest(2)).await.unwrap().is_some());
    tx.commit().await.unwrap();
    // The first session lives until its absolute end (at 1000).
    assert_eq!(store.sweep(end(1000, 1000)).await.unwrap().total(), 0);
    assert_eq!(
        store.sweep(end(1001, 1001)).await.unwrap().sessions_deleted,
        1
    );
    let mut tx = store.begin().await.unwrap();
    assert!(tx.lock_token(&digest(2)).await.unwrap().is_none());
    tx.commit().await.unwrap();
}

/// Used or expired links made before the cut-off go (so they no longer
/// count against the hourly limit); settled mail goes, pending mail stays;
/// audit events before the cut-off go; revoked and expired API keys go;
/// failure counters go once idle and not locked out.
pub async fn links_mail_audit_keys_and_counters_go_once_past_their_time<S: Store>(store: &S) {
    let (ann, _) = user_with_session(store, "ann@example.com", 1).await;
    let request = |byte, secs| ResetRequest {
        email: Email::parse("ann@example.com").unwrap(),
        token: token(
            byte,
            TokenPurpose::PasswordReset,
            "ann@example.com",
            secs,
            1_800,
        ),
        throttle: Throttle {
            since: at(secs - 3_600),
            max: 1,
        },
        audit: audit(AuditKind::PasswordResetRequested, ann),
    };
    assert!(store.request_password_reset(request(20, 0)).await.unwrap());
    assert!(
        !store
            .request_password_reset(request(21, 1_900))
            .await
            .unwrap(),
        "limit"
    );
    let links = |now| Sweep {
        links_made_before: at(1),
        ..nothing(now)
    };
    assert_eq!(
        store.sweep(links(1_799)).await.unwrap().total(),
        0,
        "not expired"
    );
    assert_eq!(store.sweep(links(1_800)).await.unwrap().links_deleted, 1);
    assert!(
        store
            .request_password_reset(request(22, 1_900))
            .await
            .unwrap(),
        "a swept link no longer counts"
    );

    let mut tx = store.begin().await.unwrap();
    tx.enqueue(mail_to("ann@example.com", at(0))).await.unwrap();
    tx.commit().await.unwrap();
    let claimed = store
        .claim_due_mail(at(2_000), at(2_060), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3, "two reset mails and the queued one");
    store
        .settle_mail(&claimed[0], DeliveryOutcome::Sent, at(2_001))
        .await
        .unwrap();
    store
        .settle_mail(&claimed[1], DeliveryOutcome::Failed, at(2_001))
        .await
        .unwrap();
    store
        .settle_mail(&claimed[2], DeliveryOutcome::RetryAt(at(2_100)), at(2_001))
        .await
        .unwrap();
    let mail = Sweep {
        mail_queued_before: at(2_000),
        ..nothing(2_002)
    };
    assert_eq!(store.sweep(mail).await.unwrap().mails_deleted, 2);
    assert_eq!(pending(store).await.len(), 1, "the retried mail stays");

    let key = |n: u8, expires| NewApiKey {
        id: uuid::Uuid::now_v7(),
        user_id: ann,
        name: format!("key {n}"),
        digest: digest(n),
        prefix: format!("gk_{n:09}"),
        created_at: at(0),
        expires_at: expires,
        audit: audit(AuditKind::ApiKeyCreated, ann),
        notice: mail_to("ann@example.com", at(0)),
    };
    let revoked = store.create_api_key(key(30, None), 10).await.unwrap();
    store
        .create_api_key(key(31, Some(at(30))), 10)
        .await
        .unwrap();
    store.create_api_key(key(32, None), 10).await.unwrap();
    store
        .revoke_api_key(
            ann,
            revoked.id,
            at(20),
            audit(AuditKind::ApiKeyRevoked, ann),
        )
        .await
        .unwrap();
    let keys = |before| Sweep {
        keys_ended_before: at(before),
        ..nothing(before)
    };
    assert_eq!(store.sweep(keys(20)).await.unwrap().total(), 0);
    assert_eq!(store.sweep(keys(21)).await.unwrap().keys_deleted, 1);
    assert_eq!(
        store.sweep(keys(31)).await.unwrap().keys_deleted,
        1,
        "expired"
    );
    assert_eq!(store.live_api_keys(ann, at(31)).await.unwrap().len(), 1);

    // One failure, at the network's threshold of one: its counter is
    // locked out for 10 s; the account's (threshold 100) is not.
    let email = Email::parse("ann@example.com").unwrap();
    let begun = store
        .begin_login_attempt(&email, &attempt_on("a", rules(1, 100), 0))
        .await
        .unwrap();
    assert!(begun.locked_until.is_none());
    let idle = |now| Sweep {
        throttles_idle_before: at(1),
        ..nothing(now)
    };
    assert_eq!(
        store.sweep(idle(5)).await.unwrap().throttles_deleted,
        1,
        "the account's"
    );
    assert_eq!(
        store.sweep(idle(11)).await.unwrap().throttles_deleted,
        1,
        "the network's"
    );
    let again = store
        .begin_login_attempt(&email, &attempt_on("a", rules(1, 100), 11))
        .await
        .unwrap();
    assert!(again.locked_until.is_none(), "the counters started over");

    let all = AuditQuery {
        user_id: None,
        kind: None,
        before: None,
        limit: 1_000,
    };
    let events = store.audit_events(all.clone()).await.unwrap().len() as u64;
    assert!(events > 0);
    store
        .record(audit(AuditKind::LoginFailed, ann))
        .await
        .unwrap();
    let mut late = audit(AuditKind::LoginFailed, ann);
    late.at = at(5_000);
    store.record(late.clone()).await.unwrap();
    let old = Sweep {
        audit_before: at(4_999),
        ..nothing(5_001)
    };
    assert_eq!(
        store.sweep(old).await.unwrap().audit_events_deleted,
        events + 1
    );
    assert_eq!(store.audit_events(all).await.unwrap(), [late]);
}

/// Each kind takes at most a batch per call, and two sweeps at once
/// share a backlog: every row goes exactly once.
pub async fn two_sweeps_share_a_backlog<S: UserStore + SessionStore + Housekeeping>(store: &S) {
    for n in 0..30u8 {
        let (id, _) = user_with_session(store, &format!("backlog-{n}@example.com"), n).await;
        store.revoke_all_sessions(revocation(id, 1)).await.unwrap();
    }
    let sweep = Sweep {
        sessions_ended_before: at(2),
        batch: 3,
        ..nothing(2)
    };
    let first = store.sweep(sweep).await.unwrap();
    assert_eq!(first.sessions_deleted, 3, "one batch");
    assert!(first.any_full(3));
    let drain = || async {
        let mut deleted = 0;
        loop {
            let swept = store.sweep(sweep).await.unwrap();
            assert!(swept.sessions_deleted <= 3);
            deleted += swept.sessions_deleted;
            if swept.total() == 0 {
                return deleted;
            }
        }
    };
    let (a, b) = futures_util::join!(drain(), drain());
    assert_eq!(a + b, 27, "{a} + {b}");
}
