use gatehouse_application::ports::AccessClaims;
use gatehouse_application::use_cases::admin::{
    AdminError, GetUser, ListAuditEvents, ListUsers, RevokeUserSessions, UpdateUser,
};
use gatehouse_application::use_cases::signed_in::CallerError;
use gatehouse_application::use_cases::{Authenticate, GetCurrentUser, GetCurrentUserError};
use gatehouse_domain::{AuditKind, Role, UserId};

use crate::support::*;

fn claims(ports: &TestPorts, access: &str) -> AccessClaims {
    Authenticate::new(ports).execute(access).unwrap()
}

/// Ada, made admin in the store, and her claims (minted while she was a
/// user: the role in the token does not matter).
async fn an_admin(ports: &TestPorts) -> (UserId, AccessClaims) {
    let ada = register(ports).await;
    ports.store.set_role(ada.user.id, Role::Admin).await;
    (ada.user.id, claims(ports, ada.tokens.access_token.expose()))
}

async fn another_user(ports: &TestPorts, address: &str) -> (UserId, AccessClaims) {
    let registered = gatehouse_application::use_cases::Register::new(ports)
        .execute(gatehouse_application::use_cases::RegisterCommand {
            email: email(address),
            password: password("another long passphrase"),
            name: None,
            client: client(),
        })
        .await
        .unwrap();
    let tokens = registered.tokens.unwrap();
    (
        registered.user.id,
        claims(ports, tokens.access_token.expose()),
    )
}

#[tokio::test]
async fn only_a_current_admin_is_let_in() {
    let ports = ports().await;
    let (ada, admin) = an_admin(&ports).await;
    let (_, user) = another_user(&ports, "bob@example.com").await;
    assert!(matches!(
        ListUsers::new(&ports).execute(&user, None, 10, None).await,
        Err(AdminError::Forbidden)
    ));
    ListUsers::new(&ports)
        .execute(&admin, None, 10, None)
        .await
        .unwrap();
    ports.store.set_role(ada, Role::User).await;
    assert!(
        matches!(
            GetUser::new(&ports).execute(&admin, ada).await,
            Err(AdminError::Forbidden)
        ),
        "demoted: refused at once, whatever the token says"
    );
}

#[tokio::test]
async fn users_are_listed_in_pages_in_id_order() {
    let ports = ports().await;
    let (_, admin) = an_admin(&ports).await;
    for n in 0..4 {
        another_user(&ports, &format!("user{n}@example.com")).await;
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = ListUsers::new(&ports)
            .execute(&admin, after, 2, None)
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|u| u.id));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
}

#[tokio::test]
async fn disabling_ends_every_session_and_the_last_admin_stays() {
    let ports = ports().await;
    let (ada, admin) = an_admin(&ports).await;
    let (bob, bob_claims) = another_user(&ports, "bob@example.com").await;
    let updated = UpdateUser::new(&ports)
        .execute(&admin, bob, None, Some(true), &client())
        .await
        .unwrap();
    assert!(updated.disabled);
    assert!(matches!(
        GetCurrentUser::new(&ports).execute(&bob_claims).await,
        Err(GetCurrentUserError::Caller(CallerError::Disabled))
    ));
    assert_eq!(
        ports
            .store
            .revoke_reason(bob_claims.session_id)
            .await
            .as_deref(),
        Some("admin_action")
    );
    for (role, disabled) in [(Some(Role::User), None), (None, Some(true))] {
        assert!(matches!(
            UpdateUser::new(&ports)
                .execute(&admin, ada, role, disabled, &client())
                .await,
            Err(AdminError::LastAdmin)
        ));
    }
    // With a second admin, the first may step down.
    UpdateUser::new(&ports)
        .execute(&admin, bob, Some(Role::Admin), Some(false), &client())
        .await
        .unwrap();
    UpdateUser::new(&ports)
        .execute(&admin, ada, Some(Role::User), None, &client())
        .await
        .unwrap();
    assert!(
        matches!(
            UpdateUser::new(&ports)
                .execute(&admin, UserId::new(), None, Some(true), &client())
                .await,
            Err(AdminError::Forbidden)
        ),
        "ada is no admin any more"
    );
}

#[tokio::test]
async fn unknown_users_are_not_found_and_sessions_can_be_ended() {
    let ports = ports().await;
    let (_, admin) = an_admin(&ports).await;
    let (bob, bob_claims) = another_user(&ports, "bob@example.com").await;
    assert!(matches!(
        GetUser::new(&ports).execute(&admin, UserId::new()).await,
        Err(AdminError::NotFound)
    ));
    assert!(matches!(
        RevokeUserSessions::new(&ports)
            .execute(&admin, UserId::new(), &client())
            .await,
        Err(AdminError::NotFound)
    ));
    assert_eq!(
        RevokeUserSessions::new(&ports)
            .execute(&admin, bob, &client())
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        GetCurrentUser::new(&ports).execute(&bob_claims).await,
        Err(GetCurrentUserError::Caller(CallerError::SessionEnded))
    ));
}

#[tokio::test]
async fn the_audit_trail_is_filtered_and_paged_newest_first() {
    let ports = ports().await;
    let (ada, admin) = an_admin(&ports).await;
    let (bob, _) = another_user(&ports, "bob@example.com").await;
    for disabled in [true, false, true] {
        ports.clock.advance(std::time::Duration::from_secs(1));
        UpdateUser::new(&ports)
            .execute(&admin, bob, None, Some(disabled), &client())
            .await
            .unwrap();
    }
    let all = ListAuditEvents::new(&ports)
        .execute(&admin, None, None, None, 100)
        .await
        .unwrap();
    assert!(
        all.items
            .windows(2)
            .all(|w| (w[0].at, w[0].id) > (w[1].at, w[1].id))
    );
    let mine = ListAuditEvents::new(&ports)
        .execute(
            &admin,
            Some(ada),
            Some(AuditKind::UserRegistered),
            None,
            100,
        )
        .await
        .unwrap();
    assert_eq!(mine.items.len(), 1);
    let first = ListAuditEvents::new(&ports)
        .execute(&admin, Some(bob), None, None, 2)
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = ListAuditEvents::new(&ports)
        .execute(&admin, Some(bob), None, first.next_before, 2)
        .await
        .unwrap();
    // Registered, then three updates: two pages of two.
    assert_eq!(rest.items.len(), 2);
    assert!(rest.next_before.is_none());
    assert_eq!(
        rest.items.last().map(|e| e.kind),
        Some(AuditKind::UserRegistered),
        "oldest last"
    );
    assert!(
        rest.items
            .iter()
            .all(|e| (e.at, e.id) < first.next_before.unwrap())
    );
}

#[tokio::test]
async fn ensuring_the_admin_creates_promotes_or_leaves_it() {
    use gatehouse_application::use_cases::admin::{CreateAccountError, EnsureAdmin, Ensured};
    use gatehouse_domain::Password;

    let ports = ports().await;
    let ensure = |address: &'static str, pass: &'static str| {
        let ports = &ports;
        async move {
            EnsureAdmin::new(ports)
                .execute(email(address), &Password::presented(pass))
                .await
        }
    };
    assert_eq!(
        ensure("ops@example.com", "a long admin passphrase")
            .await
            .unwrap(),
        Ensured::Created
    );
    assert_eq!(
        ensure("ops@example.com", "another passphrase entirely")
            .await
            .unwrap(),
        Ensured::AlreadyAdmin
    );
    let ada = register(&ports).await;
    // Someone registered the address first: the configured password is
    // not theirs, so they stay a user.
    assert_eq!(
        ensure(EMAIL, "whatever it may be").await.unwrap(),
        Ensured::NotPromoted
    );
    assert_eq!(
        ports.store.find_user_now(ada.user.id).await.role,
        Role::User
    );
    // With the account's own password, it is promoted.
    assert_eq!(ensure(EMAIL, PASSWORD).await.unwrap(), Ensured::Promoted);
    assert_eq!(
        ports.store.find_user_now(ada.user.id).await.role,
        Role::Admin
    );
    assert!(matches!(
        ensure("new@example.com", "short").await,
        Err(CreateAccountError::WeakPassword(_))
    ));
}

#[tokio::test]
async fn an_admin_lists_a_users_sessions_and_sends_it_a_working_reset_link() {
    use gatehouse_application::use_cases::admin::{ListUserSessions, SendPasswordReset};
    use gatehouse_application::use_cases::password::{ResetPassword, ResetPasswordCommand};

    let ports = ports().await;
    let (_, admin) = an_admin(&ports).await;
    let (bob, bob_claims) = another_user(&ports, "bob@example.com").await;
    let sessions = ListUserSessions::new(&ports)
        .execute(&admin, bob)
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1);
    assert!(matches!(
        ListUserSessions::new(&ports)
            .execute(&admin, UserId::new())
            .await,
        Err(AdminError::NotFound)
    ));
    assert!(matches!(
        SendPasswordReset::new(&ports)
            .execute(&bob_claims, bob, &client())
            .await,
        Err(AdminError::Forbidden)
    ));

    SendPasswordReset::new(&ports)
        .execute(&admin, bob, &client())
        .await
        .unwrap();
    let mails = mails_about(&ports, "Reset your password").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to.as_str(), "bob@example.com");
    ResetPassword::new(&ports)
        .execute(ResetPasswordCommand {
            token: gatehouse_domain::SecretString::new(link_token(&mails[0])),
            new_password: gatehouse_domain::Password::presented("a brand new passphrase"),
            client: client(),
        })
        .await
        .unwrap();

    // As the user's own request: none to a disabled account.
    ports.store.set_disabled(bob, true).await;
    SendPasswordReset::new(&ports)
        .execute(&admin, bob, &client())
        .await
        .unwrap();
    assert_eq!(mails_about(&ports, "Reset your password").await.len(), 1);
}
