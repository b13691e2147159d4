use gatehouse_application::ports::{Clock, PasswordHasher, TokenIssuer};
use gatehouse_application::use_cases::{Login, LoginCommand, LoginError};
use gatehouse_domain::{AuditKind, Password};

use crate::support::*;

fn command(e: &str, p: &str) -> LoginCommand {
    LoginCommand {
        otp: None,
        email: email(e),
        password: Password::presented(p),
        client: client(),
    }
}

#[tokio::test]
async fn right_password_starts_a_new_session() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let tokens = Login::new(&ports)
        .execute(command("ADA@example.com ", PASSWORD))
        .await
        .unwrap();
    let claims = ports
        .tokens
        .verify(tokens.access_token.expose(), ports.clock.now())
        .unwrap();
    assert_eq!(claims.user_id, registered.user.id);
    assert_eq!(ports.store.session_count().await, 2);
    let last = ports.store.audit_events().await.pop().unwrap();
    assert_eq!(last.kind, AuditKind::LoginSucceeded);
    assert_eq!(last.client, client());
}

#[tokio::test]
async fn wrong_password_and_unknown_email_fail_alike_and_are_audited() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let wrong = Login::new(&ports)
        .execute(command(EMAIL, "not the password"))
        .await
        .unwrap_err();
    let unknown = Login::new(&ports)
        .execute(command("nobody@example.com", PASSWORD))
        .await
        .unwrap_err();
    assert!(matches!(wrong, LoginError::InvalidCredentials), "{wrong:?}");
    assert!(
        matches!(unknown, LoginError::InvalidCredentials),
        "{unknown:?}"
    );
    assert_eq!(ports.store.session_count().await, 1);
    let events = ports.store.audit_events().await;
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.kind == AuditKind::LoginFailed)
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0].user_id, Some(registered.user.id));
    assert_eq!(failed[1].user_id, None);
    assert!(!format!("{:?}", failed).contains("not the password"));
    // The typed email is kept as a keyed digest only, equal for equal emails.
    let details = format!("{:?}", failed.iter().map(|e| &e.detail).collect::<Vec<_>>());
    assert!(
        !details.contains("nobody") && !details.contains("ada@"),
        "{details}"
    );
    Login::new(&ports)
        .execute(command("nobody@example.com", PASSWORD))
        .await
        .unwrap_err();
    let again = ports.store.audit_events().await;
    let digest =
        |e: &gatehouse_domain::AuditEvent| e.detail["email_digest"].as_str().map(str::to_owned);
    assert_eq!(digest(again.last().unwrap()), digest(failed[1]));
    assert_ne!(digest(failed[0]), digest(failed[1]));
    assert!(digest(failed[1]).is_some_and(|d| d.len() == 32));
}

#[tokio::test]
async fn disabled_account_is_refused_after_the_password_check() {
    let ports = ports().await;
    let registered = register(&ports).await;
    ports.store.set_disabled(registered.user.id, true).await;
    let err = Login::new(&ports)
        .execute(command(EMAIL, PASSWORD))
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::AccountDisabled), "{err:?}");
    // A wrong password on a disabled account does not reveal that it is disabled.
    let err = Login::new(&ports)
        .execute(command(EMAIL, "not the password"))
        .await
        .unwrap_err();
    assert!(matches!(err, LoginError::InvalidCredentials), "{err:?}");
}

#[tokio::test]
async fn hashes_with_old_parameters_are_upgraded_on_login() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let old =
        gatehouse_adapter_crypto::Argon2Hasher::new(&gatehouse_adapter_crypto::Argon2Config {
            memory_kib: 32,
            ..cheap_argon2()
        })
        .unwrap();
    let old_hash = old.hash(Password::presented(PASSWORD)).await.unwrap();
    ports
        .store
        .set_password_hash(registered.user.id, old_hash.clone())
        .await;

    Login::new(&ports)
        .execute(command(EMAIL, PASSWORD))
        .await
        .unwrap();
    let new_hash = ports.store.password_hash(registered.user.id).await.unwrap();
    assert_ne!(new_hash, old_hash);
    assert!(
        new_hash.as_str().contains("m=64,t=1,p=1"),
        "{}",
        new_hash.as_str()
    );
    // And the upgraded hash still logs in.
    Login::new(&ports)
        .execute(command(EMAIL, PASSWORD))
        .await
        .unwrap();
}

#[tokio::test]
async fn saturated_hasher_answers_overloaded() {
    let mut ports = ports().await;
    ports.hasher = gatehouse_testkit::HeldHasher::new(
        gatehouse_adapter_crypto::Argon2Hasher::new(&gatehouse_adapter_crypto::Argon2Config {
            max_concurrent: 1,
            queue_wait: std::time::Duration::ZERO,
            // A hash that holds the one slot for tens of milliseconds, so
            // the other logins, microseconds behind, find it taken even on
            // a busy machine (with the cheapest cost, each could finish
            // before the next one arrived).
            memory_kib: 64 * 1024,
            iterations: 2,
            ..cheap_argon2()
        })
        .unwrap(),
    );
    register(&ports).await;
    // Many logins at once against one slot and no queueing: some must be refused.
    let results = futures_util::future::join_all(
        (0..16).map(|_| async { Login::new(&ports).execute(command(EMAIL, PASSWORD)).await }),
    )
    .await;
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(LoginError::Overloaded { .. })))
    );
    assert!(results.iter().any(|r| r.is_ok()));
}
