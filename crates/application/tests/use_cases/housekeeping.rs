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
