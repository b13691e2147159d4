use std::time::Duration;

use gatehouse_application::use_cases::{Logout, RotateRefreshToken, SweepExpiredData};

use crate::support::*;

#[tokio::test]
async fn kept_successors_go_with_the_grace_and_ended_sessions_a_day_later() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let next = RotateRefreshToken::new(&ports)
        .execute(registered.tokens.refresh_token.expose(), &client())
        .await
        .unwrap();
    let swept = SweepExpiredData::new(&ports).execute().await.unwrap();
    assert_eq!(swept.total(), 0, "{swept:?}");

    ports
        .clock
        .advance(ports.policy.refresh_reuse_grace + Duration::from_secs(1));
    let swept = SweepExpiredData::new(&ports).execute().await.unwrap();
    assert_eq!(swept.successors_erased, 1);

    Logout::new(&ports)
        .execute(next.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(
        SweepExpiredData::new(&ports)
            .execute()
            .await
            .unwrap()
            .sessions_deleted,
        0
    );
    ports.clock.advance(Duration::from_secs(24 * 3_600 + 1));
    let swept = SweepExpiredData::new(&ports).execute().await.unwrap();
    assert_eq!(swept.sessions_deleted, 1);
    assert_eq!(ports.store.session_count().await, 0);
    assert_eq!(ports.store.token_count().await, 0);
    assert_eq!(swept.links_deleted, 1, "registration's link, expired");
}

/// A rotated token is forgotten at its own idle expiry, while its session
/// lives on: a long session keeps a bounded number of rows, and that old a
/// token is unknown, not reused.
#[tokio::test]
async fn rotated_tokens_go_at_their_idle_expiry_and_the_session_stays() {
    let ports = ports_with(gatehouse_application::AuthPolicy {
        refresh_token_idle_ttl: Duration::from_secs(600),
        ..gatehouse_application::AuthPolicy::default()
    })
    .await;
    let first = register(&ports).await.tokens;
    let mut current = first.refresh_token.clone();
    for _ in 0..3 {
        ports.clock.advance(Duration::from_secs(300));
        current = RotateRefreshToken::new(&ports)
            .execute(current.expose(), &client())
            .await
            .unwrap()
            .refresh_token;
    }
    // The first token idled out at 600 s, the second at 900 s; now is 900.
    let swept = SweepExpiredData::new(&ports).execute().await.unwrap();
    assert_eq!(swept.rotated_tokens_deleted, 1, "{swept:?}");
    ports.clock.advance(Duration::from_secs(1));
    let swept = SweepExpiredData::new(&ports).execute().await.unwrap();
    assert_eq!(swept.rotated_tokens_deleted, 1, "{swept:?}");
    assert_eq!(
        ports.store.token_count().await,
        2,
        "the current token and its predecessor"
    );
    assert!(matches!(
        RotateRefreshToken::new(&ports)
            .execute(first.refresh_token.expose(), &client())
            .await,
        Err(gatehouse_application::use_cases::RotateRefreshTokenError::Invalid)
    ));
    RotateRefreshToken::new(&ports)
        .execute(current.expose(), &client())
        .await
        .unwrap();
}

/// Revoked and expired API keys are deleted 30 days after they ended.
#[tokio::test]
async fn ended_api_keys_go_after_thirty_days() {
    use gatehouse_application::ports::TokenIssuer;
    use gatehouse_application::use_cases::api_keys::{CreateApiKey, RevokeApiKey};
    let ports = ports().await;
    let tokens = register(&ports).await.tokens;
    let me = ports
        .tokens
        .verify(tokens.access_token.expose(), ports.clock_now())
        .unwrap();
    let revoked = CreateApiKey::new(&ports)
        .execute(&me, "revoked", None, &client())
        .await
        .unwrap();
    CreateApiKey::new(&ports)
        .execute(&me, "expiring", Some(1), &client())
        .await
        .unwrap();
    CreateApiKey::new(&ports)
        .execute(&me, "kept", None, &client())
        .await
        .unwrap();
    RevokeApiKey::new(&ports)
        .execute(&me, revoked.view.id, &client())
        .await
        .unwrap();
    ports.clock.advance(Duration::from_secs(30 * 24 * 3_600));
    assert_eq!(
        SweepExpiredData::new(&ports)
            .execute()
            .await
            .unwrap()
            .keys_deleted,
        0
    );
    ports.clock.advance(Duration::from_secs(24 * 3_600 + 1));
    assert_eq!(
        SweepExpiredData::new(&ports)
            .execute()
            .await
            .unwrap()
            .keys_deleted,
        2
    );
}
