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

/// A completed password reset forgets the account's counters: the owner,
/// back in control of the mailbox, is not locked out by the flood that
/// made them reset.
#[tokio::test]
async fn a_completed_reset_clears_the_lockout() {
    use gatehouse_application::use_cases::password::{
        RequestPasswordReset, ResetPassword, ResetPasswordCommand,
    };
    let ports = ports().await;
    register(&ports).await;
    for _ in 0..5 {
        let _ = attempt(&ports, EMAIL, "wrong guess").await;
    }
    throttled_for(attempt(&ports, EMAIL, PASSWORD).await);
    RequestPasswordReset::new(&ports)
        .execute(email(EMAIL), &client())
        .await
        .unwrap();
    let token = link_token(
        mails_about(&ports, "Reset your password")
            .await
            .last()
            .unwrap(),
    );
    ResetPassword::new(&ports)
        .execute(ResetPasswordCommand {
            token: gatehouse_domain::SecretString::new(token),
            new_password: Password::presented("a fresh start passphrase"),
            client: client(),
        })
        .await
        .unwrap();
    attempt(&ports, EMAIL, "a fresh start passphrase")
        .await
        .unwrap();
}

/// A right password that does not sign in (a disabled account here; a
/// missing code or an unverified email likewise) is no guess: the attempt
/// it started is taken back, however often it comes.
#[tokio::test]
async fn a_right_password_that_does_not_sign_in_is_not_counted() {
    let ports = ports_with(gatehouse_application::AuthPolicy {
        lockout: gatehouse_application::ports::AttemptRules {
            per_network: gatehouse_application::ports::Lockout {
                max_failures: 2,
                ..gatehouse_application::AuthPolicy::default()
                    .lockout
                    .per_network
            },
            ..gatehouse_application::AuthPolicy::default().lockout
        },
        ..gatehouse_application::AuthPolicy::default()
    })
    .await;
    let user = register(&ports).await.user.id;
    ports.store.set_disabled(user, true).await;
    for _ in 0..3 {
        assert!(matches!(
            attempt(&ports, EMAIL, PASSWORD).await,
            Err(LoginError::AccountDisabled)
        ));
    }
    ports.store.set_disabled(user, false).await;
    attempt(&ports, EMAIL, PASSWORD).await.unwrap();
}
