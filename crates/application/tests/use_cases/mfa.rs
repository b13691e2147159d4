//! TOTP and backup codes, with a fixed clock: enrolment, the login's
//! second factor, its window and replay, backup codes once, disable.

use std::time::Duration;

use gatehouse_application::ports::AccessClaims;
use gatehouse_application::use_cases::mfa::{DisableTotp, EnableTotp, MfaError, SetupTotp};
use gatehouse_application::use_cases::{Authenticate, Login, LoginCommand, LoginError, TokenPair};
use gatehouse_domain::{Amr, AuditKind, Password, SecretString};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::support::*;

fn claims(ports: &TestPorts, tokens: &TokenPair) -> AccessClaims {
    Authenticate::new(ports)
        .execute(tokens.access_token.expose())
        .unwrap()
}

/// The code an authenticator app shows for `secret` (base32) at `offset`
/// steps from the clock's now: computed independently of the adapter.
fn code(ports: &TestPorts, secret: &str, offset: i64) -> String {
    let raw = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, raw, None, String::new());
    let now = gatehouse_application::ports::Clock::now(&ports.clock).timestamp();
    totp.generate(u64::try_from(now + offset * 30).unwrap())
}

async fn login(ports: &TestPorts, otp: Option<&str>) -> Result<TokenPair, LoginError> {
    Login::new(ports)
        .execute(LoginCommand {
            email: email(EMAIL),
            password: Password::presented(PASSWORD),
            otp: otp.map(SecretString::new),
            client: client(),
        })
        .await
}

/// A user with MFA on: its claims, secret and backup codes.
async fn enrolled(ports: &TestPorts) -> (AccessClaims, String, Vec<String>) {
    let me = claims(ports, &register_verified(ports).await.tokens);
    let setup = SetupTotp::new(ports).execute(&me).await.unwrap();
    let secret = setup.secret_base32.expose().to_owned();
    let codes = EnableTotp::new(ports)
        .execute(&me, &code(ports, &secret, 0), &client())
        .await
        .unwrap();
    // The enabling code's step is spent: move on to the next one.
    ports.clock.advance(Duration::from_secs(30));
    (
        me,
        secret,
        codes.iter().map(|c| c.expose().to_owned()).collect(),
    )
}

#[tokio::test]
async fn enrolment_turns_mfa_on_and_login_then_needs_a_current_code() {
    let ports = ports().await;
    let (_, secret, backup) = enrolled(&ports).await;
    assert_eq!(backup.len(), 10);

    assert!(matches!(
        login(&ports, None).await,
        Err(LoginError::MfaRequired)
    ));
    let signed_in = login(&ports, Some(&code(&ports, &secret, 0)))
        .await
        .unwrap();
    assert_eq!(claims(&ports, &signed_in).amr, Amr::PasswordAndOneTimeCode);

    let kinds: Vec<_> = ports
        .store
        .audit_events()
        .await
        .iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&AuditKind::MfaEnabled));
    assert_eq!(mails_about(&ports, "Two-step sign-in is on").await.len(), 1);
}

#[tokio::test]
async fn a_code_is_good_once_and_never_after_a_later_one() {
    let ports = ports().await;
    let (_, secret, _) = enrolled(&ports).await;
    let now = code(&ports, &secret, 0);
    login(&ports, Some(&now)).await.unwrap();
    assert!(matches!(
        login(&ports, Some(&now)).await,
        Err(LoginError::MfaInvalid)
    ));
    // The previous step's code is within the window, but older than the
    // step just spent.
    let before = code(&ports, &secret, -1);
    assert!(matches!(
        login(&ports, Some(&before)).await,
        Err(LoginError::MfaInvalid)
    ));
    ports.clock.advance(Duration::from_secs(30));
    login(&ports, Some(&code(&ports, &secret, 0)))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_window_is_one_step_either_side() {
    let ports = ports().await;
    let (_, secret, _) = enrolled(&ports).await;
    for far in [-3, -2, 2, 3] {
        assert!(
            matches!(
                login(&ports, Some(&code(&ports, &secret, far))).await,
                Err(LoginError::MfaInvalid)
            ),
            "{far}"
        );
    }
    // One step late (a slow typist) is fine.
    ports.clock.advance(Duration::from_secs(60));
    login(&ports, Some(&code(&ports, &secret, -1)))
        .await
        .unwrap();
    // One step early (a clock ahead) too, and it spends that later step.
    let ahead = code(&ports, &secret, 1);
    login(&ports, Some(&ahead)).await.unwrap();
    assert!(matches!(
        login(&ports, Some(&code(&ports, &secret, 0))).await,
        Err(LoginError::MfaInvalid)
    ));
}

#[tokio::test]
async fn a_backup_code_works_once_however_it_is_typed() {
    let ports = ports().await;
    let (_, _, backup) = enrolled(&ports).await;
    let typed = format!(" {} ", backup[3].to_uppercase().replace('-', " - "));
    let signed_in = login(&ports, Some(&typed)).await.unwrap();
    assert_eq!(claims(&ports, &signed_in).amr, Amr::PasswordAndOneTimeCode);
    assert!(matches!(
        login(&ports, Some(&backup[3])).await,
        Err(LoginError::MfaInvalid)
    ));
    login(&ports, Some(&backup[4])).await.unwrap();
    assert!(matches!(
        login(&ports, Some("aaaaa-aaaaa")).await,
        Err(LoginError::MfaInvalid)
    ));
}

#[tokio::test]
async fn wrong_codes_count_towards_the_lockout() {
    let ports = ports().await;
    let (_, secret, _) = enrolled(&ports).await;
    let max = ports.policy.lockout.per_network.max_failures;
    for _ in 0..max {
        assert!(matches!(
            login(&ports, Some("000000")).await,
            Err(LoginError::MfaInvalid)
        ));
    }
    assert!(matches!(
        login(&ports, Some(&code(&ports, &secret, 0))).await,
        Err(LoginError::Throttled { .. })
    ));
}

#[tokio::test]
async fn setup_replaces_a_pending_secret_and_refuses_once_enabled() {
    let ports = ports().await;
    let me = claims(&ports, &register_verified(&ports).await.tokens);
    let first = SetupTotp::new(&ports).execute(&me).await.unwrap();
    let second = SetupTotp::new(&ports).execute(&me).await.unwrap();
    assert_ne!(first.secret_base32.expose(), second.secret_base32.expose());
    // The replaced secret confirms nothing; the new one does.
    let stale = code(&ports, first.secret_base32.expose(), 0);
    assert!(matches!(
        EnableTotp::new(&ports)
            .execute(&me, &stale, &client())
            .await,
        Err(MfaError::InvalidCode)
    ));
    let fresh = code(&ports, second.secret_base32.expose(), 0);
    EnableTotp::new(&ports)
        .execute(&me, &fresh, &client())
        .await
        .unwrap();
    assert!(matches!(
        SetupTotp::new(&ports).execute(&me).await,
        Err(MfaError::AlreadyEnabled)
    ));
    assert!(matches!(
        EnableTotp::new(&ports)
            .execute(&me, &fresh, &client())
            .await,
        Err(MfaError::AlreadyEnabled)
    ));
}

#[tokio::test]
async fn enabling_needs_a_setup_and_a_right_code() {
    let ports = ports().await;
    let me = claims(&ports, &register_verified(&ports).await.tokens);
    assert!(matches!(
        EnableTotp::new(&ports)
            .execute(&me, "123456", &client())
            .await,
        Err(MfaError::InvalidCode)
    ));
    SetupTotp::new(&ports).execute(&me).await.unwrap();
    assert!(matches!(
        EnableTotp::new(&ports)
            .execute(&me, "12345", &client())
            .await,
        Err(MfaError::InvalidCode)
    ));
    login(&ports, None).await.unwrap();
}

#[tokio::test]
async fn disable_takes_the_password_and_a_code_and_forgets_secret_and_codes() {
    let ports = ports().await;
    let (me, secret, backup) = enrolled(&ports).await;
    let now_code = code(&ports, &secret, 0);
    assert!(matches!(
        DisableTotp::new(&ports)
            .execute(
                &me,
                Password::presented("not the password"),
                &now_code,
                &client()
            )
            .await,
        Err(MfaError::InvalidCredentials)
    ));
    // The password alone, as a thief who learnt it has, is not enough.
    assert!(matches!(
        DisableTotp::new(&ports)
            .execute(&me, Password::presented(PASSWORD), "000000", &client())
            .await,
        Err(MfaError::MfaInvalid)
    ));
    login(&ports, Some(&backup[0])).await.unwrap();
    DisableTotp::new(&ports)
        .execute(&me, Password::presented(PASSWORD), &backup[1], &client())
        .await
        .unwrap();
    let plain = login(&ports, None).await.unwrap();
    assert_eq!(claims(&ports, &plain).amr, Amr::Password);
    let state = gatehouse_application::ports::MfaStore::mfa_state(&ports.store, me.user_id)
        .await
        .unwrap();
    assert!(!state.enabled && state.secret.is_none() && state.pending.is_none());
    assert_eq!(
        mails_about(&ports, "Two-step sign-in is off").await.len(),
        1
    );
    let kinds: Vec<_> = ports
        .store
        .audit_events()
        .await
        .iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&AuditKind::MfaDisabled));
}

#[tokio::test]
async fn a_data_key_rotation_keeps_secrets_and_backup_codes_working() {
    use gatehouse_adapter_crypto::DataKeyCipher;
    let mut ports = ports().await;
    let (_, secret, backup) = enrolled(&ports).await;
    ports.cipher = DataKeyCipher::with_previous(
        &SecretString::new("the-next-data-key-of-at-least-32-bytes"),
        &[SecretString::new(DATA_KEY)],
    );
    login(&ports, Some(&code(&ports, &secret, 0)))
        .await
        .unwrap();
    login(&ports, Some(&backup[1])).await.unwrap();
    // Without the former key, what it sealed is out of reach.
    ports.cipher = DataKeyCipher::new(&SecretString::new("the-next-data-key-of-at-least-32-bytes"));
    ports.clock.advance(Duration::from_secs(30));
    assert!(
        login(&ports, Some(&code(&ports, &secret, 0)))
            .await
            .is_err()
    );
    assert!(matches!(
        login(&ports, Some(&backup[2])).await,
        Err(LoginError::MfaInvalid)
    ));
}

#[tokio::test]
async fn a_password_reset_keeps_mfa_on() {
    use gatehouse_application::use_cases::password::{
        RequestPasswordReset, ResetPassword, ResetPasswordCommand,
    };
    let ports = ports().await;
    let (_, secret, _) = enrolled(&ports).await;
    RequestPasswordReset::new(&ports)
        .execute(email(EMAIL), &client())
        .await
        .unwrap();
    let mails = mails_about(&ports, "Reset your password").await;
    let token = link_token(mails.last().unwrap());
    const NEW: &str = "a fresh start passphrase";
    ResetPassword::new(&ports)
        .execute(ResetPasswordCommand {
            token: SecretString::new(token),
            new_password: Password::presented(NEW),
            client: client(),
        })
        .await
        .unwrap();
    let login = Login::new(&ports);
    let with_new = |otp: Option<String>| {
        login.execute(LoginCommand {
            email: email(EMAIL),
            password: Password::presented(NEW),
            otp: otp.map(SecretString::new),
            client: client(),
        })
    };
    assert!(matches!(with_new(None).await, Err(LoginError::MfaRequired)));
    with_new(Some(code(&ports, &secret, 0))).await.unwrap();
}

#[tokio::test]
async fn enrolling_needs_a_verified_email_and_a_recent_sign_in() {
    let ports = ports().await;
    let me = claims(&ports, &register(&ports).await.tokens);
    assert!(matches!(
        SetupTotp::new(&ports).execute(&me).await,
        Err(MfaError::EmailNotVerified)
    ));
    let ports = ports_with(gatehouse_application::AuthPolicy::default()).await;
    let me = claims(&ports, &register_verified(&ports).await.tokens);
    let setup = SetupTotp::new(&ports).execute(&me).await.unwrap();
    // Sixteen minutes later the same access token (its lifetime aside)
    // proves nothing recent.
    ports.clock.advance(Duration::from_secs(16 * 60));
    let stale = AccessClaims {
        expires_at: ports.clock_now() + chrono::Duration::seconds(60),
        ..me.clone()
    };
    assert!(matches!(
        SetupTotp::new(&ports).execute(&stale).await,
        Err(MfaError::ReauthRequired)
    ));
    assert!(matches!(
        EnableTotp::new(&ports)
            .execute(
                &stale,
                &code(&ports, setup.secret_base32.expose(), 0),
                &client()
            )
            .await,
        Err(MfaError::ReauthRequired)
    ));
}

#[tokio::test]
async fn enabling_mfa_ends_every_other_session() {
    use gatehouse_application::ports::SessionStore;
    let ports = ports().await;
    let user = register_verified(&ports).await.user;
    login(&ports, None).await.unwrap();
    login(&ports, None).await.unwrap();
    let me = claims(&ports, &login(&ports, None).await.unwrap());
    let setup = SetupTotp::new(&ports).execute(&me).await.unwrap();
    EnableTotp::new(&ports)
        .execute(
            &me,
            &code(&ports, setup.secret_base32.expose(), 0),
            &client(),
        )
        .await
        .unwrap();
    let live = ports
        .store
        .live_sessions(user.id, ports.clock_now())
        .await
        .unwrap();
    assert_eq!(
        live.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![me.session_id]
    );
}
