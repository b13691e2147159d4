use gatehouse_application::ports::{Clock, TokenIssuer};
use gatehouse_application::use_cases::{Register, RegisterCommand, RegisterError};
use gatehouse_domain::{AuditKind, Role};

use crate::support::*;

#[tokio::test]
async fn creates_a_user_with_role_user_and_a_first_session() {
    let ports = ports().await;
    let registered = register(&ports).await;
    assert_eq!(registered.user.email.as_str(), EMAIL);
    assert_eq!(registered.user.role, Role::User);
    assert!(
        !registered.user.email_verified
            && !registered.user.disabled
            && !registered.user.mfa_enabled
    );
    assert_eq!(registered.user.created_at, start());

    let claims = ports
        .tokens
        .verify(registered.tokens.access_token.expose(), ports.clock.now())
        .unwrap();
    assert_eq!(claims.user_id, registered.user.id);
    assert_eq!(claims.amr, gatehouse_domain::Amr::Password);
    assert_eq!(registered.tokens.expires_in, ports.policy.access_token_ttl);
    assert_eq!(registered.tokens.refresh_token.expose().len(), 86);
    assert_eq!(ports.store.session_count().await, 1);

    let events = ports.store.audit_events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, AuditKind::UserRegistered);
    assert_eq!(events[0].user_id, Some(registered.user.id));
}

#[tokio::test]
async fn stores_a_hash_never_the_password() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let hash = ports.store.password_hash(registered.user.id).await.unwrap();
    assert!(hash.as_str().starts_with("$argon2id$"));
    assert!(!hash.as_str().contains(PASSWORD));
}

#[tokio::test]
async fn same_email_in_any_case_is_taken_and_changes_nothing() {
    let ports = ports().await;
    register(&ports).await;
    let err = Register::new(&ports)
        .execute(RegisterCommand {
            email: email("  ADA@Example.com"),
            password: password("another long secret"),
            name: None,
            client: client(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, RegisterError::EmailTaken), "{err:?}");
    assert_eq!(ports.store.session_count().await, 1);
    assert_eq!(ports.store.audit_events().await.len(), 1);
}
