use std::time::Duration;

use gatehouse_application::AuthPolicy;
use gatehouse_application::ports::AccessClaims;
use gatehouse_application::use_cases::email::{ResendVerification, VerifyEmail, VerifyEmailError};
use gatehouse_application::use_cases::{
    Authenticate, Login, LoginCommand, LoginError, Register, RegisterCommand,
};
use gatehouse_domain::{AuditKind, Password};

use crate::support::*;

async fn verify(ports: &TestPorts, token: &str) -> Result<(), VerifyEmailError> {
    VerifyEmail::new(ports).execute(token, &client()).await
}

async fn verification_link(ports: &TestPorts) -> String {
    let mails = mails_about(ports, "Confirm your email").await;
    link_token(mails.last().expect("a verification mail"))
}

fn claims(ports: &TestPorts, access_token: &str) -> AccessClaims {
    Authenticate::new(ports).execute(access_token).unwrap()
}

async fn login(ports: &TestPorts, password: &str) -> Result<(), LoginError> {
    Login::new(ports)
        .execute(LoginCommand {
            otp: None,
            email: email(EMAIL),
            password: Password::presented(password),
            client: client(),
        })
        .await
        .map(|_| ())
}

#[tokio::test]
async fn registration_mails_a_link_that_verifies_once() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let mails = mails_about(&ports, "Confirm your email").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to.as_str(), EMAIL);
    assert!(
        mails[0]
            .body
            .expose()
            .contains("http://127.0.0.1:8080/verify-email?token=")
    );
    let token = link_token(&mails[0]);
    verify(&ports, &token).await.unwrap();
    let user = ports.store.find_user_now(registered.user.id).await;
    assert!(user.email_verified);
    assert!(
        ports
            .store
            .audit_events()
            .await
            .iter()
            .any(|e| e.kind == AuditKind::EmailVerified && e.user_id == Some(user.id))
    );
    assert!(matches!(
        verify(&ports, &token).await,
        Err(VerifyEmailError::InvalidToken)
    ));
}

#[tokio::test]
async fn a_link_expires_after_a_day_and_bad_tokens_are_refused() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let token = verification_link(&ports).await;
    ports.clock.advance(Duration::from_secs(24 * 3_600));
    for token in [token.as_str(), "", "short", &"A".repeat(43)] {
        assert!(
            matches!(
                verify(&ports, token).await,
                Err(VerifyEmailError::InvalidToken)
            ),
            "{token:?}"
        );
    }
    assert!(
        !ports
            .store
            .find_user_now(registered.user.id)
            .await
            .email_verified
    );
}

#[tokio::test]
async fn resend_mails_a_new_link_until_the_hourly_limit() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let me = claims(&ports, registered.tokens.access_token.expose());
    assert!(
        ResendVerification::new(&ports).execute(&me).await.unwrap(),
        "the first resend always goes out"
    );
    for _ in 0..6 {
        ResendVerification::new(&ports).execute(&me).await.unwrap();
    }
    assert_eq!(
        mails_about(&ports, "Confirm your email").await.len(),
        5,
        "registration's and four resends"
    );
    ports.clock.advance(Duration::from_secs(3_601));
    assert!(ResendVerification::new(&ports).execute(&me).await.unwrap());
    // Any live link verifies, and spends the others.
    let token = verification_link(&ports).await;
    verify(&ports, &token).await.unwrap();
    let first = link_token(&mails_about(&ports, "Confirm your email").await[0]);
    assert!(verify(&ports, &first).await.is_err());
    assert!(
        !ResendVerification::new(&ports).execute(&me).await.unwrap(),
        "nothing to resend once verified"
    );
}

#[tokio::test]
async fn a_required_verification_signs_nobody_in_until_done() {
    let ports = ports_with(AuthPolicy {
        require_verified_email: true,
        ..AuthPolicy::default()
    })
    .await;
    let registered = Register::new(&ports)
        .execute(RegisterCommand {
            email: email(EMAIL),
            password: password(PASSWORD),
            name: None,
            client: client(),
        })
        .await
        .unwrap();
    assert!(registered.tokens.is_none());
    assert_eq!(ports.store.session_count().await, 0);
    assert!(
        matches!(
            login(&ports, "not the password").await,
            Err(LoginError::InvalidCredentials)
        ),
        "a wrong password says nothing about verification"
    );
    assert!(matches!(
        login(&ports, PASSWORD).await,
        Err(LoginError::EmailNotVerified)
    ));
    verify(&ports, &verification_link(&ports).await)
        .await
        .unwrap();
    login(&ports, PASSWORD).await.unwrap();
}
