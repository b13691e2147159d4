use gatehouse_application::ports::{Clock, TokenIssuer};
use gatehouse_application::use_cases::Logout;
use gatehouse_domain::AuditKind;

use crate::support::*;

#[tokio::test]
async fn logout_ends_the_session_once_and_audits_it() {
    let ports = ports().await;
    let tokens = register(&ports).await.tokens;
    let session = ports
        .tokens
        .verify(tokens.access_token.expose(), ports.clock.now())
        .unwrap()
        .session_id;
    Logout::new(&ports)
        .execute(tokens.refresh_token.expose(), &client())
        .await
        .unwrap();
    Logout::new(&ports)
        .execute(tokens.refresh_token.expose(), &client())
        .await
        .unwrap();
    assert_eq!(
        ports.store.revoke_reason(session).await.as_deref(),
        Some("logout")
    );
    let revoked = ports
        .store
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.kind == AuditKind::SessionRevoked)
        .count();
    assert_eq!(revoked, 1, "a second logout is a no-op");
}

#[tokio::test]
async fn unknown_and_malformed_tokens_succeed_silently() {
    let ports = ports().await;
    register(&ports).await;
    Logout::new(&ports)
        .execute(&"B".repeat(86), &client())
        .await
        .unwrap();
    Logout::new(&ports)
        .execute("garbage", &client())
        .await
        .unwrap();
    assert_eq!(ports.store.audit_events().await.len(), 1);
}
