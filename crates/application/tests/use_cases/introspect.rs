use gatehouse_application::use_cases::{Introspect, Introspection, Logout};
use gatehouse_domain::Role;

use crate::support::*;

#[tokio::test]
async fn active_while_the_session_lives_and_the_user_is_enabled() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let access = registered.tokens.access_token.expose();
    match Introspect::new(&ports).execute(access).await.unwrap() {
        Introspection::AccessToken { user_id, role, .. } => {
            assert_eq!(user_id, registered.user.id);
            assert_eq!(role, Role::User);
        }
        other => panic!("{other:?}"),
    }
    ports.store.set_disabled(registered.user.id, true).await;
    assert_eq!(
        Introspect::new(&ports).execute(access).await.unwrap(),
        Introspection::Inactive
    );
    ports.store.set_disabled(registered.user.id, false).await;
    Logout::new(&ports)
        .execute(registered.tokens.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(
        Introspect::new(&ports).execute(access).await.unwrap(),
        Introspection::Inactive
    );
}

#[tokio::test]
async fn anything_but_a_good_access_token_is_inactive() {
    let ports = ports().await;
    let registered = register(&ports).await;
    for token in ["", "garbage", registered.tokens.refresh_token.expose()] {
        assert_eq!(
            Introspect::new(&ports).execute(token).await.unwrap(),
            Introspection::Inactive
        );
    }
    ports
        .clock
        .advance(ports.policy.access_token_ttl + std::time::Duration::from_secs(2));
    assert_eq!(
        Introspect::new(&ports)
            .execute(registered.tokens.access_token.expose())
            .await
            .unwrap(),
        Introspection::Inactive,
        "expired"
    );
}
