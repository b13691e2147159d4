use std::time::Duration;

use gatehouse_application::use_cases::password::{
    RequestPasswordReset, ResetPassword, ResetPasswordCommand, ResetPasswordError,
};
use gatehouse_application::use_cases::{
    Login, LoginCommand, LoginError, RotateRefreshToken, TokenPair,
};
use gatehouse_domain::{AuditKind, Password, PasswordError};

use crate::support::*;

const NEW: &str = "a fresh start passphrase";

async fn forgot(ports: &TestPorts, address: &str) {
    RequestPasswordReset::new(ports)
        .execute(email(address), &client())
        .await
        .unwrap();
}

async fn reset(ports: &TestPorts, token: &str, new: &str) -> Result<(), ResetPasswordError> {
    ResetPassword::new(ports)
        .execute(ResetPasswordCommand {
            token: gatehouse_domain::SecretString::new(token),
            new_password: Password::presented(new),
            client: client(),
        })
        .await
}

async fn login(ports: &TestPorts, password: &str) -> Result<TokenPair, LoginError> {
    Login::new(ports)
        .execute(LoginCommand {
            otp: None,
            email: email(EMAIL),
            password: Password::presented(password),
            client: client(),
        })
        .await
}

async fn reset_link(ports: &TestPorts) -> String {
    let mails = mails_about(ports, "Reset your password").await;
    link_token(mails.last().expect("a reset mail"))
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_and_ends_every_session() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let other = login(&ports, PASSWORD).await.unwrap();
    forgot(&ports, "ADA@example.com").await;
    let mails = mails_about(&ports, "Reset your password").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to.as_str(), EMAIL);
    assert!(
        mails[0]
            .body
            .expose()
            .contains("http://127.0.0.1:8080/reset-password?token=")
    );

    reset(&ports, &link_token(&mails[0]), NEW).await.unwrap();

    assert!(matches!(
        login(&ports, PASSWORD).await,
        Err(LoginError::InvalidCredentials)
    ));
    login(&ports, NEW).await.unwrap();
    for tokens in [&registered.tokens, &other] {
        assert!(
            RotateRefreshToken::new(&ports)
                .execute(tokens.refresh_token.expose(), &client())
                .await
                .is_err(),
            "every earlier session ended"
        );
    }
    let kinds: Vec<AuditKind> = ports
        .store
        .audit_events()
        .await
        .iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&AuditKind::PasswordResetRequested));
    let done = ports
        .store
        .audit_events()
        .await
        .into_iter()
        .find(|e| e.kind == AuditKind::PasswordReset)
        .unwrap();
    assert_eq!(done.user_id, Some(registered.user.id));
    assert_eq!(done.detail["sessions_ended"], 2);
}

#[tokio::test]
async fn an_unknown_email_gets_the_same_answer_and_no_mail() {
    let ports = ports().await;
    register(&ports).await;
    forgot(&ports, "nobody@example.com").await;
    assert!(mails_about(&ports, "Reset").await.is_empty());
    // Nothing recorded for an address without an account: probes cannot
    // grow the audit trail.
    let requested = ports
        .store
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.kind == AuditKind::PasswordResetRequested)
        .count();
    assert_eq!(requested, 0);
    // An account's request is recorded, throttled or not.
    forgot(&ports, EMAIL).await;
    let requested: Vec<_> = ports
        .store
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.kind == AuditKind::PasswordResetRequested)
        .collect();
    assert_eq!(requested.len(), 1);
    assert!(requested[0].user_id.is_some());
    assert_eq!(requested[0].detail["mailed"], true);
}

#[tokio::test]
async fn a_reset_verifies_the_email_and_a_disabled_account_cannot_reset() {
    let ports = ports().await;
    let registered = register(&ports).await;
    forgot(&ports, EMAIL).await;
    reset(&ports, &reset_link(&ports).await, NEW).await.unwrap();
    assert!(
        ports
            .store
            .find_user_now(registered.user.id)
            .await
            .email_verified
    );

    forgot(&ports, EMAIL).await;
    let token = reset_link(&ports).await;
    ports.store.set_disabled(registered.user.id, true).await;
    assert!(matches!(
        reset(&ports, &token, "yet another passphrase").await,
        Err(ResetPasswordError::InvalidToken)
    ));
}

#[tokio::test]
async fn a_disabled_account_gets_no_reset_link() {
    let ports = ports().await;
    let registered = register(&ports).await;
    ports.store.set_disabled(registered.user.id, true).await;
    forgot(&ports, EMAIL).await;
    assert!(mails_about(&ports, "Reset").await.is_empty());
}

#[tokio::test]
async fn a_link_works_once() {
    let ports = ports().await;
    register(&ports).await;
    forgot(&ports, EMAIL).await;
    let token = reset_link(&ports).await;
    reset(&ports, &token, NEW).await.unwrap();
    assert!(matches!(
        reset(&ports, &token, "yet another passphrase").await,
        Err(ResetPasswordError::InvalidToken)
    ));
    login(&ports, NEW).await.unwrap();
}

#[tokio::test]
async fn a_link_expires_after_30_minutes() {
    let ports = ports().await;
    register(&ports).await;
    forgot(&ports, EMAIL).await;
    let token = reset_link(&ports).await;
    ports.clock.advance(Duration::from_secs(30 * 60));
    assert!(matches!(
        reset(&ports, &token, NEW).await,
        Err(ResetPasswordError::InvalidToken)
    ));
    login(&ports, PASSWORD).await.unwrap();
}

#[tokio::test]
async fn unknown_or_malformed_tokens_change_nothing() {
    let ports = ports().await;
    register(&ports).await;
    for token in ["", "short", &"A".repeat(43), &"é".repeat(43)] {
        assert!(
            matches!(
                reset(&ports, token, NEW).await,
                Err(ResetPasswordError::InvalidToken)
            ),
            "{token:?}"
        );
    }
    login(&ports, PASSWORD).await.unwrap();
}

#[tokio::test]
async fn a_weak_new_password_is_refused_and_the_link_still_works() {
    let ports = ports().await;
    register(&ports).await;
    forgot(&ports, EMAIL).await;
    let token = reset_link(&ports).await;
    for (new, expected) in [
        ("short", PasswordError::TooShort { min: 8 }),
        ("password123", PasswordError::Breached),
        (EMAIL, PasswordError::EqualsEmail),
    ] {
        let err = reset(&ports, &token, new).await.unwrap_err();
        assert!(
            matches!(&err, ResetPasswordError::WeakPassword(e) if *e == expected),
            "{new}: {err:?}"
        );
    }
    reset(&ports, &token, NEW).await.unwrap();
}

#[tokio::test]
async fn a_newer_link_and_a_reset_spend_the_older_ones() {
    let ports = ports().await;
    register(&ports).await;
    forgot(&ports, EMAIL).await;
    let older = reset_link(&ports).await;
    forgot(&ports, EMAIL).await;
    let newer = reset_link(&ports).await;
    assert_ne!(older, newer);
    reset(&ports, &newer, NEW).await.unwrap();
    assert!(matches!(
        reset(&ports, &older, "yet another passphrase").await,
        Err(ResetPasswordError::InvalidToken)
    ));
}

#[tokio::test]
async fn requests_are_quietly_limited_to_five_an_hour() {
    let ports = ports().await;
    register(&ports).await;
    for _ in 0..7 {
        forgot(&ports, EMAIL).await;
    }
    assert_eq!(mails_about(&ports, "Reset").await.len(), 5);
    ports.clock.advance(Duration::from_secs(3_601));
    forgot(&ports, EMAIL).await;
    assert_eq!(mails_about(&ports, "Reset").await.len(), 6);
}

#[tokio::test]
async fn concurrent_resets_with_one_link_let_exactly_one_through() {
    let ports = std::sync::Arc::new(ports().await);
    register(&ports).await;
    forgot(&ports, EMAIL).await;
    let token = reset_link(&ports).await;
    let attempts = (0..8).map(|i| {
        let ports = std::sync::Arc::clone(&ports);
        let token = token.clone();
        tokio::spawn(async move { reset(&ports, &token, &format!("racing passphrase {i}")).await })
    });
    let results = futures_util::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| matches!(r, Ok(Ok(())))).count();
    assert_eq!(ok, 1);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(Ok(()) | Err(ResetPasswordError::InvalidToken))))
    );
}
