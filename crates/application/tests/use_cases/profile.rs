//! `UpdateProfile`: the caller's name and metadata.

use gatehouse_application::ports::{AdminStore, AuditQuery, SessionRevocation, SessionStore};
use gatehouse_application::use_cases::signed_in::CallerError;
use gatehouse_application::use_cases::{
    Authenticate, ProfileChange, UpdateProfile, UpdateProfileError,
};
use gatehouse_domain::{AuditEvent, AuditKind, DisplayName, Metadata};

use crate::support::*;

async fn updates(ports: &TestPorts) -> Vec<AuditEvent> {
    AdminStore::audit_events(
        &ports.store,
        AuditQuery {
            user_id: None,
            kind: Some(AuditKind::UserUpdated),
            before: None,
            limit: 10,
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_change_is_applied_and_audited_by_field_names_only() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let claims = Authenticate::new(&ports)
        .execute(registered.tokens.access_token.expose())
        .unwrap();
    let secret_plan = Metadata::new(serde_json::json!({ "note": "private words" })).unwrap();
    let user = UpdateProfile::new(&ports)
        .execute(
            &claims,
            ProfileChange {
                name: Some(Some(DisplayName::parse("Grace").unwrap())),
                metadata: Some(secret_plan.clone()),
            },
            &client(),
        )
        .await
        .unwrap();
    assert_eq!(user.name.as_ref().map(DisplayName::as_str), Some("Grace"));
    assert_eq!(user.metadata, secret_plan);
    let events = updates(&ports).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].user_id, Some(registered.user.id));
    assert_eq!(
        events[0].detail["fields"],
        serde_json::json!(["name", "metadata"])
    );
    assert!(
        !events[0].detail.to_string().contains("private words"),
        "values stay out"
    );
}

#[tokio::test]
async fn an_empty_change_writes_nothing() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let claims = Authenticate::new(&ports)
        .execute(registered.tokens.access_token.expose())
        .unwrap();
    let user = UpdateProfile::new(&ports)
        .execute(&claims, ProfileChange::default(), &client())
        .await
        .unwrap();
    assert_eq!(user, registered.user);
    assert!(updates(&ports).await.is_empty());
}

#[tokio::test]
async fn an_ended_session_changes_nothing() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let claims = Authenticate::new(&ports)
        .execute(registered.tokens.access_token.expose())
        .unwrap();
    let now = start();
    ports
        .store
        .revoke_all_sessions(SessionRevocation {
            user_id: registered.user.id,
            at: now,
            reason: gatehouse_application::ports::RevokeReason::UserRevoked,
            audit: AuditEvent::new(AuditKind::SessionRevoked, now, None, &client()),
        })
        .await
        .unwrap();
    let err = UpdateProfile::new(&ports)
        .execute(
            &claims,
            ProfileChange {
                name: Some(None),
                metadata: None,
            },
            &client(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, UpdateProfileError::Caller(CallerError::SessionEnded)),
        "{err:?}"
    );
    assert!(updates(&ports).await.is_empty());
}
