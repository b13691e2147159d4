//! A sign-in whose password check is still running when the account is
//! cured (password reset, "sign out everywhere", disabled) starts no
//! session: the check is held by the test hasher while the cure lands, a
//! real interleaving with no sleep.

use std::future::Future;

use gatehouse_application::ports::{SessionStore, TokenIssuer};
use gatehouse_application::use_cases::admin::UpdateUser;
use gatehouse_application::use_cases::password::{
    RequestPasswordReset, ResetPassword, ResetPasswordCommand,
};
use gatehouse_application::use_cases::sessions::RevokeAllSessions;
use gatehouse_application::use_cases::{Login, LoginCommand, LoginError, TokenPair};
use gatehouse_domain::{Password, Role, SecretString};

use crate::support::*;

async fn login(ports: &TestPorts) -> Result<TokenPair, LoginError> {
    Login::new(ports)
        .execute(LoginCommand {
            otp: None,
            email: email(EMAIL),
            password: Password::presented(PASSWORD),
            client: client(),
        })
        .await
}

/// Runs a sign-in with the right password and lands `cure` while its
/// check is held; answers the sign-in's result.
async fn sign_in_during<F: Future<Output = ()>>(
    ports: &TestPorts,
    cure: impl FnOnce() -> F,
) -> Result<TokenPair, LoginError> {
    let held = ports.hasher.hold_next_check();
    let (signed_in, ()) = tokio::join!(login(ports), async {
        held.reached.await.unwrap();
        cure().await;
        let _ = held.release.send(());
    });
    signed_in
}

async fn live_sessions(ports: &TestPorts, user: gatehouse_domain::UserId) -> usize {
    ports
        .store
        .live_sessions(user, ports.clock_now())
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_password_reset_during_the_check_wins() {
    let ports = ports().await;
    let ada = register(&ports).await.user;
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
    let result = sign_in_during(&ports, || async {
        ResetPassword::new(&ports)
            .execute(ResetPasswordCommand {
                token: SecretString::new(token),
                new_password: Password::presented("a fresh start passphrase"),
                client: client(),
            })
            .await
            .unwrap();
    })
    .await;
    assert!(
        matches!(result, Err(LoginError::InvalidCredentials)),
        "{result:?}"
    );
    assert_eq!(
        live_sessions(&ports, ada.id).await,
        0,
        "nothing alive after the reset"
    );
}

#[tokio::test]
async fn signing_out_everywhere_during_the_check_wins() {
    let ports = ports().await;
    let signed_up = register(&ports).await;
    let me = ports
        .tokens
        .verify(signed_up.tokens.access_token.expose(), ports.clock_now())
        .unwrap();
    let result = sign_in_during(&ports, || async {
        RevokeAllSessions::new(&ports)
            .execute(&me, &client())
            .await
            .unwrap();
    })
    .await;
    assert!(
        matches!(result, Err(LoginError::InvalidCredentials)),
        "{result:?}"
    );
    assert_eq!(live_sessions(&ports, signed_up.user.id).await, 0);
    // The next sign-in, begun after, works.
    login(&ports).await.unwrap();
}

#[tokio::test]
async fn disabling_during_the_check_wins() {
    let ports = ports().await;
    let ada = register(&ports).await.user;
    let admin = {
        let ops = gatehouse_application::use_cases::admin::CreateAccount::new(&ports)
            .execute(
                email("ops@example.com"),
                &Password::presented(PASSWORD),
                Role::Admin,
                None,
            )
            .await
            .unwrap();
        let signed_in = Login::new(&ports)
            .execute(LoginCommand {
                otp: None,
                email: ops.email,
                password: Password::presented(PASSWORD),
                client: client(),
            })
            .await
            .unwrap();
        ports
            .tokens
            .verify(signed_in.access_token.expose(), ports.clock_now())
            .unwrap()
    };
    let result = sign_in_during(&ports, || async {
        UpdateUser::new(&ports)
            .execute(&admin, ada.id, None, Some(true), &client())
            .await
            .unwrap();
    })
    .await;
    assert!(
        matches!(result, Err(LoginError::AccountDisabled)),
        "{result:?}"
    );
    assert_eq!(live_sessions(&ports, ada.id).await, 0);
}

#[tokio::test]
async fn without_a_cure_the_held_sign_in_succeeds() {
    let ports = ports().await;
    let ada = register(&ports).await.user;
    sign_in_during(&ports, || async {}).await.unwrap();
    assert_eq!(live_sessions(&ports, ada.id).await, 2);
}
