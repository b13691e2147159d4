use std::time::Duration;

use gatehouse_application::use_cases::{Login, LoginCommand, LoginError};
use gatehouse_domain::Password;

use crate::support::*;

async fn attempt(ports: &TestPorts, e: &str, p: &str) -> Result<(), LoginError> {
    Login::new(ports)
        .execute(LoginCommand {
            otp: None,
            email: email(e),
            password: Password::presented(p),
            client: client(),
        })
        .await
        .map(|_| ())
}

fn throttled_for(result: Result<(), LoginError>) -> Duration {
    match result {
        Err(LoginError::Throttled { retry_after }) => retry_after,
        other => panic!("expected a lockout, got {other:?}"),
    }
}

#[tokio::test]
async fn five_failures_lock_the_account_even_against_the_right_password() {
    let ports = ports().await;
    register(&ports).await;
    for _ in 0..5 {
        assert!(matches!(
            attempt(&ports, EMAIL, "wrong guess").await,
            Err(LoginError::InvalidCredentials)
        ));
    }
    assert_eq!(
        throttled_for(attempt(&ports, EMAIL, PASSWORD).await),
        Duration::from_secs(60)
    );
    ports.clock.advance(Duration::from_secs(30));
    assert_eq!(
        throttled_for(attempt(&ports, "ADA@example.com", "wrong guess").await),
        Duration::from_secs(30),
        "the typed case does not matter, and a refused try does not count"
    );
}

#[tokio::test]
async fn each_further_failure_doubles_the_lockout_and_a_success_resets_it() {
    let ports = ports().await;
    register(&ports).await;
    for _ in 0..5 {
        attempt(&ports, EMAIL, "wrong guess").await.unwrap_err();
    }
    for expected in [120, 240, 480, 900, 900] {
        ports.clock.advance(Duration::from_secs(900));
        assert!(matches!(
            attempt(&ports, EMAIL, "wrong again").await,
            Err(LoginError::InvalidCredentials)
        ));
        assert_eq!(
            throttled_for(attempt(&ports, EMAIL, PASSWORD).await),
            Duration::from_secs(expected),
            "capped at 15 minutes"
        );
    }
    ports.clock.advance(Duration::from_secs(900));
    attempt(&ports, EMAIL, PASSWORD).await.unwrap();
    // The count starts over: four failures lock nothing.
    for _ in 0..4 {
        attempt(&ports, EMAIL, "wrong guess").await.unwrap_err();
    }
    attempt(&ports, EMAIL, PASSWORD).await.unwrap();
}

#[tokio::test]
async fn an_unknown_email_is_locked_out_exactly_like_a_known_one() {
    let ports = ports().await;
    register(&ports).await;
    for _ in 0..5 {
        assert!(matches!(
            attempt(&ports, "nobody@example.com", "a guess").await,
            Err(LoginError::InvalidCredentials)
        ));
    }
    assert_eq!(
        throttled_for(attempt(&ports, "nobody@example.com", "a guess").await),
        Duration::from_secs(60)
    );
    // Another address is not affected.
    attempt(&ports, EMAIL, PASSWORD).await.unwrap();
}
