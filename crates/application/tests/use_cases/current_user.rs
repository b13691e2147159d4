use std::time::Duration;

use gatehouse_application::ports::AccessTokenError;
use gatehouse_application::use_cases::signed_in::CallerError;
use gatehouse_application::use_cases::{Authenticate, GetCurrentUser, GetCurrentUserError};

use crate::support::*;

#[tokio::test]
async fn a_valid_token_yields_the_fresh_user() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let claims = Authenticate::new(&ports)
        .execute(registered.tokens.access_token.expose())
        .unwrap();
    let user = GetCurrentUser::new(&ports).execute(&claims).await.unwrap();
    assert_eq!(user, registered.user);
}

#[tokio::test]
async fn expiry_follows_the_clock() {
    let ports = ports().await;
    let registered = register(&ports).await;
    ports
        .clock
        .advance(ports.policy.access_token_ttl + Duration::from_secs(2));
    let err = Authenticate::new(&ports)
        .execute(registered.tokens.access_token.expose())
        .unwrap_err();
    assert_eq!(err, AccessTokenError::Expired);
    assert_eq!(
        Authenticate::new(&ports).execute("nonsense").unwrap_err(),
        AccessTokenError::Invalid
    );
}

#[tokio::test]
async fn a_disabled_account_is_refused_even_with_a_live_token() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let claims = Authenticate::new(&ports)
        .execute(registered.tokens.access_token.expose())
        .unwrap();
    ports.store.set_disabled(registered.user.id, true).await;
    let err = GetCurrentUser::new(&ports)
        .execute(&claims)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GetCurrentUserError::Caller(CallerError::Disabled)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_token_for_a_vanished_account_is_not_found() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let mut claims = Authenticate::new(&ports)
        .execute(registered.tokens.access_token.expose())
        .unwrap();
    claims.user_id = gatehouse_domain::UserId::new();
    let err = GetCurrentUser::new(&ports)
        .execute(&claims)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GetCurrentUserError::Caller(CallerError::Gone)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_token_of_an_ended_session_is_refused_and_disabled_comes_first() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let claims = Authenticate::new(&ports)
        .execute(registered.tokens.access_token.expose())
        .unwrap();
    gatehouse_application::use_cases::Logout::new(&ports)
        .execute(registered.tokens.refresh_token.expose(), &client())
        .await
        .unwrap();
    let err = GetCurrentUser::new(&ports)
        .execute(&claims)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GetCurrentUserError::Caller(CallerError::SessionEnded)),
        "{err:?}"
    );

    ports.store.set_disabled(registered.user.id, true).await;
    let err = GetCurrentUser::new(&ports)
        .execute(&claims)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GetCurrentUserError::Caller(CallerError::Disabled)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_session_past_its_absolute_end_is_ended() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let claims = Authenticate::new(&ports)
        .execute(registered.tokens.access_token.expose())
        .unwrap();
    ports.clock.advance(ports.policy.session_max_lifetime);
    let err = GetCurrentUser::new(&ports)
        .execute(&claims)
        .await
        .unwrap_err();
    assert!(
        matches!(err, GetCurrentUserError::Caller(CallerError::SessionEnded)),
        "{err:?}"
    );
}
