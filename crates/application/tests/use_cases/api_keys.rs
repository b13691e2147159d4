use std::time::Duration;

use gatehouse_application::ports::AccessClaims;
use gatehouse_application::use_cases::api_keys::{
    ApiKeyError, AuthenticateApiKey, CreateApiKey, KeyError, ListApiKeys, RevokeApiKey,
};
use gatehouse_application::use_cases::password::{
    RequestPasswordReset, ResetPassword, ResetPasswordCommand,
};
use gatehouse_application::use_cases::{Authenticate, Introspect, Introspection};
use gatehouse_domain::{AuditKind, Password, SecretString};

use crate::support::*;

async fn signed_in(ports: &TestPorts) -> (gatehouse_domain::UserId, AccessClaims) {
    let registered = register(ports).await;
    let claims = Authenticate::new(ports)
        .execute(registered.tokens.access_token.expose())
        .unwrap();
    (registered.user.id, claims)
}

async fn make(ports: &TestPorts, me: &AccessClaims, days: Option<u32>) -> String {
    CreateApiKey::new(ports)
        .execute(me, "script", days, &client())
        .await
        .unwrap()
        .key
        .expose()
        .to_owned()
}

#[tokio::test]
async fn a_key_is_shown_once_listed_by_prefix_and_stands_for_its_owner() {
    let ports = ports().await;
    let (user_id, me) = signed_in(&ports).await;
    let created = CreateApiKey::new(&ports)
        .execute(&me, "  nightly export ", Some(30), &client())
        .await
        .unwrap();
    let key = created.key.expose();
    assert!(key.starts_with("gk_") && key.len() == 46);
    assert_eq!(created.view.name, "nightly export");
    assert_eq!(created.view.prefix, &key[..12]);
    assert!(created.view.expires_at.is_some());

    let listed = ListApiKeys::new(&ports).execute(&me).await.unwrap();
    assert_eq!(listed, vec![created.view.clone()]);
    let owner = AuthenticateApiKey::new(&ports).owner(key).await.unwrap();
    assert_eq!(owner.id, user_id);
    match Introspect::new(&ports).execute(key).await.unwrap() {
        Introspection::ApiKey {
            key_id,
            user_id: sub,
            ..
        } => {
            assert_eq!(key_id, created.view.id);
            assert_eq!(sub, user_id);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        ports
            .store
            .audit_events()
            .await
            .iter()
            .any(|e| e.kind == AuditKind::ApiKeyCreated)
    );
}

#[tokio::test]
async fn bad_names_and_expiries_are_refused_and_25_keys_is_the_limit() {
    let ports = ports().await;
    let (_, me) = signed_in(&ports).await;
    for (name, days) in [
        ("", None),
        ("   ", None),
        (&*"x".repeat(101), None),
        ("ok", Some(0)),
        ("ok", Some(366)),
    ] {
        let err = CreateApiKey::new(&ports)
            .execute(&me, name, days, &client())
            .await
            .unwrap_err();
        assert!(
            matches!(err, ApiKeyError::InvalidName | ApiKeyError::InvalidExpiry),
            "{name:?} {days:?}: {err:?}"
        );
    }
    for _ in 0..25 {
        make(&ports, &me, None).await;
    }
    assert!(matches!(
        CreateApiKey::new(&ports)
            .execute(&me, "one more", None, &client())
            .await,
        Err(ApiKeyError::LimitReached)
    ));
    let first = ListApiKeys::new(&ports).execute(&me).await.unwrap()[0].id;
    RevokeApiKey::new(&ports)
        .execute(&me, first, &client())
        .await
        .unwrap();
    make(&ports, &me, None).await;
}

#[tokio::test]
async fn revoked_expired_unknown_and_foreign_keys_do_nothing() {
    let ports = ports().await;
    let (user_id, me) = signed_in(&ports).await;
    let key = make(&ports, &me, Some(1)).await;
    let id = ListApiKeys::new(&ports).execute(&me).await.unwrap()[0].id;
    assert!(matches!(
        RevokeApiKey::new(&ports)
            .execute(&me, uuid::Uuid::now_v7(), &client())
            .await,
        Err(ApiKeyError::NotFound)
    ));
    ports.store.set_disabled(user_id, true).await;
    assert!(matches!(
        AuthenticateApiKey::new(&ports).owner(&key).await,
        Err(KeyError::Disabled)
    ));
    assert_eq!(
        Introspect::new(&ports).execute(&key).await.unwrap(),
        Introspection::Inactive
    );
    ports.store.set_disabled(user_id, false).await;
    AuthenticateApiKey::new(&ports).owner(&key).await.unwrap();

    ports.clock.advance(Duration::from_secs(24 * 3_600));
    assert!(
        matches!(
            AuthenticateApiKey::new(&ports).owner(&key).await,
            Err(KeyError::Invalid)
        ),
        "expired"
    );
    // A day later the sign-in is no longer recent: as if reauthenticated.
    let me = AccessClaims {
        auth_time: ports.clock_now(),
        ..me
    };
    let other = make(&ports, &me, None).await;
    RevokeApiKey::new(&ports)
        .execute(
            &me,
            ListApiKeys::new(&ports).execute(&me).await.unwrap()[0].id,
            &client(),
        )
        .await
        .unwrap();
    for key in [other.as_str(), "gk_nonsense", "not a key"] {
        assert!(matches!(
            AuthenticateApiKey::new(&ports).owner(key).await,
            Err(KeyError::Invalid)
        ));
    }
    let _ = id;
}

#[tokio::test]
async fn use_is_recorded_at_most_once_a_minute() {
    let ports = ports().await;
    let (_, me) = signed_in(&ports).await;
    let key = make(&ports, &me, None).await;
    let last_used =
        || async { ListApiKeys::new(&ports).execute(&me).await.unwrap()[0].last_used_at };
    assert_eq!(last_used().await, None);
    AuthenticateApiKey::new(&ports).owner(&key).await.unwrap();
    let first = last_used().await.unwrap();
    ports.clock.advance(Duration::from_secs(30));
    AuthenticateApiKey::new(&ports).owner(&key).await.unwrap();
    assert_eq!(
        last_used().await,
        Some(first),
        "within the minute: no write"
    );
    ports.clock.advance(Duration::from_secs(31));
    AuthenticateApiKey::new(&ports).owner(&key).await.unwrap();
    assert!(last_used().await.unwrap() > first);
}

#[tokio::test]
async fn a_password_reset_revokes_every_key() {
    let ports = ports().await;
    let (_, me) = signed_in(&ports).await;
    let key = make(&ports, &me, None).await;
    RequestPasswordReset::new(&ports)
        .execute(email(EMAIL), &client())
        .await
        .unwrap();
    let token = link_token(mails_about(&ports, "Reset").await.last().unwrap());
    ResetPassword::new(&ports)
        .execute(ResetPasswordCommand {
            token: SecretString::new(token),
            new_password: Password::presented("a fresh start passphrase"),
            client: client(),
        })
        .await
        .unwrap();
    assert!(matches!(
        AuthenticateApiKey::new(&ports).owner(&key).await,
        Err(KeyError::Invalid)
    ));
}

#[tokio::test]
async fn a_password_change_keeps_keys_and_the_notice_lists_them() {
    use gatehouse_application::use_cases::password::{ChangePassword, ChangePasswordCommand};

    let ports = ports().await;
    let (_, me) = signed_in(&ports).await;
    let key = make(&ports, &me, None).await;
    ChangePassword::new(&ports)
        .execute(
            &me,
            ChangePasswordCommand {
                current: Password::presented(PASSWORD),
                new: Password::presented("a brand new passphrase 2031"),
                client: client(),
            },
        )
        .await
        .unwrap();
    AuthenticateApiKey::new(&ports).owner(&key).await.unwrap();
    let notice = mails_about(&ports, "password was changed").await;
    let body = notice[0].body.expose();
    assert!(
        body.contains(&format!("- script ({}...)", &key[..12])),
        "{body}"
    );
    assert!(!body.contains(&key), "never the key itself");
}
