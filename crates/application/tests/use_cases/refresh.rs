use std::time::Duration;

use gatehouse_application::AuthPolicy;
use gatehouse_application::ports::{Clock, TokenIssuer};
use gatehouse_application::use_cases::{Logout, RotateRefreshToken, RotateRefreshTokenError as E};
use gatehouse_domain::AuditKind;

use crate::support::*;

async fn rotate(
    ports: &TestPorts,
    token: &str,
) -> Result<gatehouse_application::use_cases::TokenPair, E> {
    RotateRefreshToken::new(ports)
        .execute(token, &client())
        .await
}

#[tokio::test]
async fn rotation_issues_a_new_pair_and_audits_it_when_asked() {
    let ports = ports_with(gatehouse_application::AuthPolicy {
        audit_refreshes: true,
        ..gatehouse_application::AuthPolicy::default()
    })
    .await;
    let first = register(&ports).await.tokens;
    ports.clock.advance(Duration::from_secs(60));
    let second = rotate(&ports, first.refresh_token.expose()).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    let a = ports
        .tokens
        .verify(first.access_token.expose(), ports.clock.now())
        .unwrap();
    let b = ports
        .tokens
        .verify(second.access_token.expose(), ports.clock.now())
        .unwrap();
    assert_eq!(a.session_id, b.session_id, "a refresh stays in its session");
    assert_eq!(b.issued_at, ports.clock.now());
    assert_eq!(
        ports.store.audit_events().await.last().unwrap().kind,
        AuditKind::TokenRefreshed
    );
    // The successor rotates in turn.
    rotate(&ports, second.refresh_token.expose()).await.unwrap();
}

#[tokio::test]
async fn retry_within_grace_gets_the_identical_successor() {
    let ports = ports().await;
    let first = register(&ports).await.tokens;
    let a = rotate(&ports, first.refresh_token.expose()).await.unwrap();
    ports.clock.advance(Duration::from_secs(9));
    let b = rotate(&ports, first.refresh_token.expose()).await.unwrap();
    assert_eq!(a.refresh_token, b.refresh_token);
    assert_ne!(a.access_token, b.access_token, "the access token is fresh");
    // Nothing was revoked: the successor still works.
    rotate(&ports, a.refresh_token.expose()).await.unwrap();
}

#[tokio::test]
async fn a_token_two_rotations_old_is_reuse_even_within_the_grace() {
    let ports = ports().await;
    let r1 = register(&ports).await.tokens;
    let r2 = rotate(&ports, r1.refresh_token.expose()).await.unwrap();
    ports.clock.advance(Duration::from_secs(1));
    let r3 = rotate(&ports, r2.refresh_token.expose()).await.unwrap();
    ports.clock.advance(Duration::from_secs(1));
    // R2 is a retry of the step to R3, still current: replayed.
    let again = rotate(&ports, r2.refresh_token.expose()).await.unwrap();
    assert_eq!(again.refresh_token, r3.refresh_token);
    // R1 would hand out R2, which has moved on: reuse, the family ends.
    assert!(matches!(
        rotate(&ports, r1.refresh_token.expose()).await,
        Err(E::Reused)
    ));
    assert!(matches!(
        rotate(&ports, r3.refresh_token.expose()).await,
        Err(E::Invalid)
    ));
}

#[tokio::test]
async fn concurrent_presentations_never_fork_the_family() {
    let ports = ports().await;
    let first = register(&ports).await.tokens;
    let results = futures_util::future::join_all(
        (0..32).map(|_| rotate(&ports, first.refresh_token.expose())),
    )
    .await;
    let successors: std::collections::HashSet<_> = results
        .into_iter()
        .map(|r| r.unwrap().refresh_token.expose().to_owned())
        .collect();
    assert_eq!(successors.len(), 1);
    assert_eq!(ports.store.token_count().await, 2);
}

#[tokio::test]
async fn reuse_after_grace_revokes_the_whole_family_and_alerts() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let first = registered.tokens;
    let second = rotate(&ports, first.refresh_token.expose()).await.unwrap();
    ports.clock.advance(Duration::from_secs(11));

    assert!(matches!(
        rotate(&ports, first.refresh_token.expose()).await,
        Err(E::Reused)
    ));
    // The newest token of the family is dead too, and says invalid, not reused.
    assert!(matches!(
        rotate(&ports, second.refresh_token.expose()).await,
        Err(E::Invalid)
    ));

    let session = ports
        .tokens
        .verify(first.access_token.expose(), ports.clock.now())
        .unwrap()
        .session_id;
    assert_eq!(
        ports.store.revoke_reason(session).await.as_deref(),
        Some("reuse_detected")
    );
    let events = ports.store.audit_events().await;
    let reuse: Vec<_> = events
        .iter()
        .filter(|e| e.kind == AuditKind::RefreshReuseDetected)
        .collect();
    assert_eq!(reuse.len(), 1);
    assert_eq!(reuse[0].user_id, Some(registered.user.id));
    let mails = mails_about(&ports, "Security alert").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to.as_str(), EMAIL);
    // When, from where, and what was done.
    let body = mails[0].body.expose();
    let when = ports
        .clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(body.contains(&when), "{body}");
    assert!(
        body.contains("203.0.113.7") && body.contains("test-agent/1.0"),
        "{body}"
    );
    assert!(
        body.contains("ended every session of that sign-in"),
        "{body}"
    );
}

#[tokio::test]
async fn an_older_token_of_the_family_is_reuse() {
    let ports = ports().await;
    let t1 = register(&ports).await.tokens;
    let t2 = rotate(&ports, t1.refresh_token.expose()).await.unwrap();
    ports.clock.advance(Duration::from_secs(30));
    let t3 = rotate(&ports, t2.refresh_token.expose()).await.unwrap();
    ports.clock.advance(Duration::from_secs(30));
    assert!(matches!(
        rotate(&ports, t1.refresh_token.expose()).await,
        Err(E::Reused)
    ));
    assert!(matches!(
        rotate(&ports, t3.refresh_token.expose()).await,
        Err(E::Invalid)
    ));
}

#[tokio::test]
async fn with_zero_grace_a_second_presentation_is_reuse() {
    let ports = ports_with(AuthPolicy {
        refresh_reuse_grace: Duration::ZERO,
        ..AuthPolicy::default()
    })
    .await;
    let first = register(&ports).await.tokens;
    rotate(&ports, first.refresh_token.expose()).await.unwrap();
    assert!(matches!(
        rotate(&ports, first.refresh_token.expose()).await,
        Err(E::Reused)
    ));
}

#[tokio::test]
async fn idle_tokens_expire() {
    let ports = ports_with(AuthPolicy {
        refresh_token_idle_ttl: Duration::from_secs(100),
        ..AuthPolicy::default()
    })
    .await;
    let first = register(&ports).await.tokens;
    ports.clock.advance(Duration::from_secs(100));
    assert!(matches!(
        rotate(&ports, first.refresh_token.expose()).await,
        Err(E::Invalid)
    ));
}

#[tokio::test]
async fn sessions_end_at_their_absolute_lifetime_however_often_refreshed() {
    let ports = ports_with(AuthPolicy {
        refresh_token_idle_ttl: Duration::from_secs(100),
        session_max_lifetime: Duration::from_secs(250),
        ..AuthPolicy::default()
    })
    .await;
    let mut token = register(&ports).await.tokens.refresh_token;
    for _ in 0..2 {
        ports.clock.advance(Duration::from_secs(90));
        token = rotate(&ports, token.expose()).await.unwrap().refresh_token;
    }
    ports.clock.advance(Duration::from_secs(70)); // 250 s after login
    assert!(matches!(
        rotate(&ports, token.expose()).await,
        Err(E::Invalid)
    ));
}

#[tokio::test]
async fn unknown_and_malformed_tokens_are_invalid() {
    let ports = ports().await;
    register(&ports).await;
    let unknown = "A".repeat(86);
    for token in [unknown.as_str(), "", "short", "not base64 !!"] {
        assert!(
            matches!(rotate(&ports, token).await, Err(E::Invalid)),
            "{token}"
        );
    }
}

#[tokio::test]
async fn tokens_of_a_logged_out_session_are_invalid() {
    let ports = ports().await;
    let first = register(&ports).await.tokens;
    Logout::new(&ports)
        .execute(first.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert!(matches!(
        rotate(&ports, first.refresh_token.expose()).await,
        Err(E::Invalid)
    ));
}

#[tokio::test]
async fn a_disabled_account_cannot_refresh() {
    let ports = ports().await;
    let registered = register(&ports).await;
    ports.store.set_disabled(registered.user.id, true).await;
    assert!(matches!(
        rotate(&ports, registered.tokens.refresh_token.expose()).await,
        Err(E::Invalid)
    ));
}

#[tokio::test]
async fn a_second_late_presentation_is_still_reuse_but_alarms_once() {
    let ports = ports().await;
    let first = register(&ports).await.tokens;
    rotate(&ports, first.refresh_token.expose()).await.unwrap();
    ports.clock.advance(Duration::from_secs(11));
    assert!(matches!(
        rotate(&ports, first.refresh_token.expose()).await,
        Err(E::Reused)
    ));
    assert!(matches!(
        rotate(&ports, first.refresh_token.expose()).await,
        Err(E::Reused)
    ));
    let alarms = ports
        .store
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.kind == AuditKind::RefreshReuseDetected)
        .count();
    assert_eq!(alarms, 1);
    assert_eq!(mails_about(&ports, "Security alert").await.len(), 1);
}

/// By default a refresh writes no audit row: a row per access-token
/// lifetime of every session would be kept for the audit retention.
#[tokio::test]
async fn refreshes_are_not_audited_by_default() {
    let ports = ports().await;
    let first = register(&ports).await.tokens;
    rotate(&ports, first.refresh_token.expose()).await.unwrap();
    assert!(
        ports
            .store
            .audit_events()
            .await
            .iter()
            .all(|e| e.kind != AuditKind::TokenRefreshed)
    );
}
