//! The sweep against PostgreSQL: what the contract says goes, goes, and
//! two instances sweeping at once share the work.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_application::AuthPolicy;
use gatehouse_application::policy::RetentionPolicy;
use gatehouse_application::ports::{Housekeeping, Sweep};
use gatehouse_application::use_cases::mail::DeliverMail;
use gatehouse_application::use_cases::password::RequestPasswordReset;
use gatehouse_application::use_cases::{Logout, RotateRefreshToken, SweepExpiredData};
use gatehouse_domain::Email;

use crate::support::*;

const DAY: Duration = Duration::from_secs(24 * 3_600);

/// After the grace and one pass, no row holds a ciphertext of a live
/// token: an old token plus a copy of the database leads nowhere.
#[tokio::test]
async fn after_the_grace_no_kept_successor_remains() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let first = register(&ports, "kept@example.com").await.tokens;
    RotateRefreshToken::new(&ports)
        .execute(first.refresh_token.expose(), &client())
        .await
        .unwrap();
    let kept = "SELECT count(*) AS n FROM refresh_tokens WHERE sealed_successor IS NOT NULL";
    SweepExpiredData::new(&ports).execute().await.unwrap();
    assert_eq!(count(&db, kept).await, 1, "within the grace it stays");
    ports
        .clock
        .advance(AuthPolicy::default().refresh_reuse_grace + Duration::from_secs(1));
    let swept = SweepExpiredData::new(&ports).execute().await.unwrap();
    assert_eq!(swept.successors_erased, 1);
    assert_eq!(count(&db, kept).await, 0);
}

#[tokio::test]
async fn ended_sessions_spent_links_old_audit_and_settled_mail_go() {
    let db = TestDatabase::create().await;
    let ports = ports(
        &db,
        AuthPolicy {
            retention: RetentionPolicy {
                audit_events: 2 * DAY,
                ..RetentionPolicy::default()
            },
            ..AuthPolicy::default()
        },
    );
    let ended = register(&ports, "ended@example.com").await.tokens;
    let live = register(&ports, "live@example.com").await.tokens;
    Logout::new(&ports)
        .execute(ended.refresh_token.expose(), &client())
        .await
        .unwrap();
    RequestPasswordReset::new(&ports)
        .execute(Email::parse("live@example.com").unwrap(), &client())
        .await
        .unwrap();
    DeliverMail::new(&ports).execute().await.unwrap();
    let _ = live;

    // Within their time, everything stays.
    let swept = SweepExpiredData::new(&ports).execute().await.unwrap();
    assert_eq!(swept.total(), 0, "{swept:?}");

    ports.clock.advance(DAY + Duration::from_secs(1));
    let swept = SweepExpiredData::new(&ports).execute().await.unwrap();
    assert_eq!(
        swept.sessions_deleted, 1,
        "the logged-out session, a day on"
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM sessions").await,
        1,
        "the live session stays"
    );
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM refresh_tokens").await,
        1,
        "its tokens went with it"
    );
    // Expired (the reset link, 30 min) or used after the hour, and the
    // two verification links of registration (24 h) just expired too.
    assert_eq!(swept.links_deleted, 3);
    assert_eq!(swept.mails_deleted, 3, "sent a day ago");
    assert_eq!(swept.audit_events_deleted, 0);

    ports.clock.advance(DAY);
    let swept = SweepExpiredData::new(&ports).execute().await.unwrap();
    assert!(swept.audit_events_deleted > 0);
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM audit_events").await,
        0
    );
}

/// Two instances sweep a backlog at once: every row goes exactly once
/// (the counts add up), and neither waits for the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sweeps_share_a_backlog() {
    let db = TestDatabase::create().await;
    let ports = Arc::new(ports(&db, AuthPolicy::default()));
    for n in 0..30 {
        let tokens = register(&ports, &format!("backlog-{n}@example.com"))
            .await
            .tokens;
        Logout::new(&*ports)
            .execute(tokens.refresh_token.expose(), &client())
            .await
            .unwrap();
    }
    let now = gatehouse_application::ports::Clock::now(&ports.clock) + chrono::Duration::days(2);
    let sweep = Sweep {
        grace_over_before: now,
        rotated_expired_before: now,
        sessions_ended_before: now,
        links_made_before: now,
        now,
        audit_before: now,
        mail_queued_before: now,
        throttles_idle_before: now,
        keys_ended_before: now,
        batch: 3,
    };
    let second = Arc::new(db.store());
    let run = |store: Arc<gatehouse_adapter_postgres::PgStore>| {
        tokio::spawn(async move {
            let mut sessions = 0;
            loop {
                let swept = store.sweep(sweep).await.unwrap();
                sessions += swept.sessions_deleted;
                if swept.total() == 0 {
                    return sessions;
                }
            }
        })
    };
    let a = run(Arc::new(ports.store.clone()));
    let b = run(second);
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(a + b, 30, "{a} + {b}");
    assert_eq!(count(&db, "SELECT count(*) AS n FROM sessions").await, 0);
}
