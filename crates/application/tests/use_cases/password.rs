use gatehouse_application::ports::AccessClaims;
use gatehouse_application::use_cases::password::{
    ChangePassword, ChangePasswordCommand, ChangePasswordError,
};
use gatehouse_application::use_cases::sessions::ListSessions;
use gatehouse_application::use_cases::signed_in::CallerError;
use gatehouse_application::use_cases::{
    Authenticate, Login, LoginCommand, LoginError, RotateRefreshToken, TokenPair,
};
use gatehouse_domain::{AuditKind, Password, PasswordError};

use crate::support::*;

const NEW: &str = "a brand new passphrase 2031";

fn claims(ports: &TestPorts, tokens: &TokenPair) -> AccessClaims {
    Authenticate::new(ports)
        .execute(tokens.access_token.expose())
        .unwrap()
}

fn change(current: &str, new: &str) -> ChangePasswordCommand {
    ChangePasswordCommand {
        current: Password::presented(current),
        new: Password::presented(new),
        client: client(),
    }
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

#[tokio::test]
async fn a_change_keeps_the_callers_session_and_ends_the_others() {
    let ports = ports().await;
    let mine = register(&ports).await.tokens;
    let other = login(&ports, PASSWORD).await.unwrap();
    let me = claims(&ports, &mine);

    ChangePassword::new(&ports)
        .execute(&me, change(PASSWORD, NEW))
        .await
        .unwrap();

    assert!(matches!(
        login(&ports, PASSWORD).await.unwrap_err(),
        LoginError::InvalidCredentials
    ));
    login(&ports, NEW).await.unwrap();
    // The caller's session goes on; the other one ended.
    RotateRefreshToken::new(&ports)
        .execute(mine.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert!(
        RotateRefreshToken::new(&ports)
            .execute(other.refresh_token.expose(), &client())
            .await
            .is_err()
    );
    let listed = ListSessions::new(&ports).execute(&me).await.unwrap();
    assert!(listed.iter().any(|s| s.current));

    let event = ports
        .store
        .audit_events()
        .await
        .into_iter()
        .find(|e| e.kind == AuditKind::PasswordChanged)
        .unwrap();
    assert_eq!(event.detail["sessions_ended"], 1);
    let notices = mails_about(&ports, "password was changed").await;
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].to.as_str(), EMAIL);
    assert!(notices[0].body.expose().contains("reset your password"));
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let ports = ports().await;
    let mine = register(&ports).await.tokens;
    let err = ChangePassword::new(&ports)
        .execute(&claims(&ports, &mine), change("not the password", NEW))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChangePasswordError::InvalidCredentials),
        "{err:?}"
    );
    login(&ports, PASSWORD).await.unwrap();
    assert!(mails_about(&ports, "password was changed").await.is_empty());
}

#[tokio::test]
async fn the_new_password_meets_the_sign_up_rules() {
    let ports = ports().await;
    let mine = register(&ports).await.tokens;
    let me = claims(&ports, &mine);
    for (new, expected) in [
        ("short", PasswordError::TooShort { min: 8 }),
        ("password123", PasswordError::Breached),
        (EMAIL, PasswordError::EqualsEmail),
    ] {
        let err = ChangePassword::new(&ports)
            .execute(&me, change(PASSWORD, new))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ChangePasswordError::WeakPassword(e) if *e == expected),
            "{new}: {err:?}"
        );
    }
    login(&ports, PASSWORD).await.unwrap();
}

#[tokio::test]
async fn an_ended_session_cannot_change_the_password() {
    let ports = ports().await;
    let mine = register(&ports).await.tokens;
    let me = claims(&ports, &mine);
    gatehouse_application::use_cases::Logout::new(&ports)
        .execute(mine.refresh_token.expose(), &client())
        .await
        .unwrap();
    let err = ChangePassword::new(&ports)
        .execute(&me, change(PASSWORD, NEW))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChangePasswordError::Caller(CallerError::SessionEnded)),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_current_passwords_lock_the_account_like_failed_logins() {
    let ports = ports().await;
    let mine = register(&ports).await.tokens;
    let me = claims(&ports, &mine);
    for _ in 0..5 {
        let err = ChangePassword::new(&ports)
            .execute(&me, change("a wrong guess", NEW))
            .await
            .unwrap_err();
        assert!(
            matches!(err, ChangePasswordError::InvalidCredentials),
            "{err:?}"
        );
    }
    let err = ChangePassword::new(&ports)
        .execute(&me, change(PASSWORD, NEW))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChangePasswordError::Throttled { .. }),
        "{err:?}"
    );
    assert!(matches!(
        login(&ports, PASSWORD).await,
        Err(LoginError::Throttled { .. })
    ));
}
