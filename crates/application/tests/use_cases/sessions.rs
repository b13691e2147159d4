use std::time::Duration;

use gatehouse_application::ports::AccessClaims;
use gatehouse_application::use_cases::sessions::{
    ListSessions, ListSessionsError, RevokeAllSessions, RevokeAllSessionsError, RevokeSession,
    RevokeSessionError,
};
use gatehouse_application::use_cases::signed_in::CallerError;
use gatehouse_application::use_cases::{
    Authenticate, Login, LoginCommand, Register, RegisterCommand, RotateRefreshToken, TokenPair,
};
use gatehouse_domain::{AuditKind, Password, SessionId};

use crate::support::*;

fn claims(ports: &TestPorts, tokens: &TokenPair) -> AccessClaims {
    Authenticate::new(ports)
        .execute(tokens.access_token.expose())
        .unwrap()
}

async fn login(ports: &TestPorts) -> TokenPair {
    Login::new(ports)
        .execute(LoginCommand {
            otp: None,
            email: email(EMAIL),
            password: Password::presented(PASSWORD),
            client: client(),
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn the_list_holds_live_sessions_and_marks_the_current_one() {
    let ports = ports().await;
    let first = register(&ports).await.tokens;
    ports.clock.advance(Duration::from_secs(5));
    let second = login(&ports).await;
    let third = login(&ports).await;
    // A logged-out session is not listed.
    gatehouse_application::use_cases::Logout::new(&ports)
        .execute(third.refresh_token.expose(), &client())
        .await
        .unwrap();

    let me = claims(&ports, &second);
    let listed = ListSessions::new(&ports).execute(&me).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed.iter().filter(|s| s.current).count(), 1);
    let current = listed.iter().find(|s| s.current).unwrap();
    assert_eq!(current.session.id, me.session_id);
    assert_eq!(current.session.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        current.session.user_agent.as_deref(),
        Some("test-agent/1.0")
    );
    // Most recently used first: refreshing the first session moves it up.
    ports.clock.advance(Duration::from_secs(5));
    RotateRefreshToken::new(&ports)
        .execute(first.refresh_token.expose(), &client())
        .await
        .unwrap();
    let listed = ListSessions::new(&ports).execute(&me).await.unwrap();
    assert_eq!(listed[0].session.id, claims(&ports, &first).session_id);
    assert!(listed[0].session.last_used_at > listed[1].session.last_used_at);
}

#[tokio::test]
async fn ending_one_session_stops_its_tokens_and_is_audited() {
    let ports = ports().await;
    let first = register(&ports).await.tokens;
    let second = login(&ports).await;
    let (me, other) = (claims(&ports, &first), claims(&ports, &second));

    RevokeSession::new(&ports)
        .execute(&me, other.session_id, &client())
        .await
        .unwrap();
    // Saying it again agrees.
    RevokeSession::new(&ports)
        .execute(&me, other.session_id, &client())
        .await
        .unwrap();
    let err = RotateRefreshToken::new(&ports)
        .execute(second.refresh_token.expose(), &client())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid"), "{err:?}");
    let err = ListSessions::new(&ports).execute(&other).await.unwrap_err();
    assert!(
        matches!(err, ListSessionsError::Caller(CallerError::SessionEnded)),
        "{err:?}"
    );
    let listed = ListSessions::new(&ports).execute(&me).await.unwrap();
    assert_eq!(listed.len(), 1);

    let revoked: Vec<_> = ports
        .store
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.kind == AuditKind::SessionRevoked)
        .collect();
    assert_eq!(revoked.len(), 1, "one event for the one session ended");
    assert_eq!(
        revoked[0].detail["session_id"],
        other.session_id.to_string().as_str()
    );
    assert_eq!(revoked[0].detail["reason"], "user_revoked");
}

#[tokio::test]
async fn another_users_session_or_an_unknown_one_is_not_found() {
    let ports = ports().await;
    let ada = register(&ports).await.tokens;
    let bob = Register::new(&ports)
        .execute(RegisterCommand {
            email: email("bob@example.com"),
            password: password("another long passphrase"),
            name: None,
            client: client(),
        })
        .await
        .unwrap()
        .tokens
        .unwrap();
    let (ada, bob) = (claims(&ports, &ada), claims(&ports, &bob));
    for target in [bob.session_id, SessionId::new()] {
        let err = RevokeSession::new(&ports)
            .execute(&ada, target, &client())
            .await
            .unwrap_err();
        assert!(matches!(err, RevokeSessionError::NotFound), "{err:?}");
    }
    // Bob's session still works.
    assert_eq!(
        ListSessions::new(&ports).execute(&bob).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn ending_every_session_includes_the_callers_own() {
    let ports = ports().await;
    let first = register(&ports).await.tokens;
    login(&ports).await;
    login(&ports).await;
    let me = claims(&ports, &first);
    let ended = RevokeAllSessions::new(&ports)
        .execute(&me, &client())
        .await
        .unwrap();
    assert_eq!(ended, 3);
    let err = RevokeAllSessions::new(&ports)
        .execute(&me, &client())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RevokeAllSessionsError::Caller(CallerError::SessionEnded)
        ),
        "{err:?}"
    );
    let events: Vec<_> = ports
        .store
        .audit_events()
        .await
        .into_iter()
        .filter(|e| e.kind == AuditKind::SessionRevoked)
        .collect();
    assert_eq!(events.len(), 1, "one event names them all");
    assert_eq!(events[0].detail["session_ids"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_disabled_account_cannot_list_or_end_sessions() {
    let ports = ports().await;
    let registered = register(&ports).await;
    let me = claims(&ports, &registered.tokens);
    ports.store.set_disabled(registered.user.id, true).await;
    let err = ListSessions::new(&ports).execute(&me).await.unwrap_err();
    assert!(
        matches!(err, ListSessionsError::Caller(CallerError::Disabled)),
        "{err:?}"
    );
    let err = RevokeSession::new(&ports)
        .execute(&me, me.session_id, &client())
        .await
        .unwrap_err();
    assert!(
        matches!(err, RevokeSessionError::Caller(CallerError::Disabled)),
        "{err:?}"
    );
}
