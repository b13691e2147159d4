//! The store port contracts, as the in-memory adapter also honours them.

use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_application::ports::{AuditLog, CreateUserError, NewUser, UserStore};
use gatehouse_application::use_cases::{Register, RegisterCommand, RegisterError};
use gatehouse_application::{AuthPolicy, PortError};
use gatehouse_domain::{
    AuditEvent, AuditKind, Email, Password, PasswordHash, PasswordRules, Role, UserId,
};

use crate::support::*;

#[tokio::test]
async fn register_writes_user_session_token_and_audit_in_one_go() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let registered = register(&ports, "grace@example.com").await;
    assert_eq!(registered.user.role, Role::User);
    assert_eq!(count(&db, "SELECT count(*) AS n FROM users").await, 1);
    assert_eq!(count(&db, "SELECT count(*) AS n FROM sessions").await, 1);
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM refresh_tokens").await,
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) AS n FROM audit_events WHERE kind = 'user.registered'"
        )
        .await,
        1
    );
    // Only a digest is at rest.
    let token = registered.tokens.refresh_token.expose().to_owned();
    let leaked = count(&db, &format!("SELECT count(*) AS n FROM refresh_tokens WHERE position('{token}'::bytea in digest) > 0")).await;
    assert_eq!(leaked, 0);
}

#[tokio::test]
async fn email_is_unique_whatever_its_case_and_a_conflict_writes_nothing() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    register(&ports, "grace@example.com").await;
    let err = Register::new(&ports)
        .execute(RegisterCommand {
            email: Email::parse("GRACE@example.com").unwrap(),
            password: Password::new("another fine passphrase", &PasswordRules::default(), None)
                .unwrap(),
            client: client(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, RegisterError::EmailTaken), "{err:?}");
    assert_eq!(count(&db, "SELECT count(*) AS n FROM users").await, 1);
    assert_eq!(count(&db, "SELECT count(*) AS n FROM sessions").await, 1);
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM audit_events").await,
        1
    );
}

#[tokio::test]
async fn users_are_found_by_normalised_email_and_by_id() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let registered = register(&ports, "grace@example.com").await;
    let found = ports
        .store
        .find_credentials(&Email::parse(" Grace@Example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user, registered.user);
    assert!(found.password_hash.as_str().starts_with("$argon2id$"));
    assert!(
        ports
            .store
            .find_credentials(&Email::parse("nobody@example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        ports.store.find_user(registered.user.id).await.unwrap(),
        Some(registered.user)
    );
    assert_eq!(ports.store.find_user(UserId::new()).await.unwrap(), None);
}

#[tokio::test]
async fn create_user_without_a_session_and_conflict_on_direct_insert() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let now = chrono::Utc::now();
    let new_user = |email: &str| NewUser {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        password_hash: PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA"),
        role: Role::Admin,
        created_at: now,
        verification: None,
        email_verified: false,
    };
    let audit = || AuditEvent::new(AuditKind::UserRegistered, now, None, &client());
    ports
        .store
        .create_user(new_user("ops@example.com"), None, audit())
        .await
        .unwrap();
    let err = ports
        .store
        .create_user(new_user("ops@example.com"), None, audit())
        .await
        .unwrap_err();
    assert!(matches!(err, CreateUserError::EmailTaken), "{err:?}");
    assert_eq!(count(&db, "SELECT count(*) AS n FROM sessions").await, 0);
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM users WHERE role = 'admin'").await,
        1
    );
}

#[tokio::test]
async fn only_the_email_constraint_means_email_taken() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let now = chrono::Utc::now();
    let user = |email: &str, id: UserId| NewUser {
        id,
        email: Email::parse(email).unwrap(),
        password_hash: PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA"),
        role: Role::User,
        created_at: now,
        verification: None,
        email_verified: false,
    };
    let audit = || AuditEvent::new(AuditKind::UserRegistered, now, None, &client());
    let id = UserId::new();
    ports
        .store
        .create_user(user("first@example.com", id), None, audit())
        .await
        .unwrap();
    // Same primary key, another email: a unique violation, but not of the email.
    let err = ports
        .store
        .create_user(user("second@example.com", id), None, audit())
        .await
        .unwrap_err();
    assert!(
        matches!(err, CreateUserError::Port(PortError::Unexpected(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn audit_events_are_appended() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let event = AuditEvent::new(AuditKind::LoginFailed, chrono::Utc::now(), None, &client())
        .with_detail(serde_json::json!({ "reason": "unknown_email" }));
    ports.store.record(event).await.unwrap();
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM audit_events WHERE kind = 'login.failed' AND detail->>'reason' = 'unknown_email' AND ip = '198.51.100.4'").await,
        1
    );
}

#[tokio::test]
async fn emails_with_unusual_case_mappings_are_stored_and_found() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    // 'İ' lower-cases to "i̇" in Unicode; PostgreSQL's lower() may disagree.
    for raw in ["İnfo@Example.com", "ÅSA@exämple.org", "straße@example.de"] {
        let registered = register(&ports, raw).await;
        let found = ports
            .store
            .find_credentials(&Email::parse(raw).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.user.id, registered.user.id, "{raw}");
    }
}

/// The domain's email bound and the column's check are one pair: the
/// longest email the domain accepts, counted as the store holds it (after
/// lower-casing, which can lengthen), fits the column; one more is refused
/// by the domain, so the column's check never turns input into a 500.
#[tokio::test]
async fn the_longest_accepted_email_fits_the_column() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let ascii = format!("{}@example.com", "a".repeat(254 - 12));
    let expanding = format!("{}@ex.com", "İ".repeat(123));
    for raw in [ascii.as_str(), expanding.as_str()] {
        let email = Email::parse(raw).unwrap();
        assert!(email.as_str().chars().count() >= 253);
        register(&ports, raw).await;
    }
    assert_eq!(count(&db, "SELECT count(*) AS n FROM users").await, 2);
    let too_long = format!("{}@ex.com", "İ".repeat(124));
    assert!(Email::parse(&too_long).is_err(), "255 once lower-cased");
}

/// The shared store-port contract, as the in-memory and SQLite adapters
/// also run it.
mod shared {
    use gatehouse_adapter_postgres::test_support::TestDatabase;

    gatehouse_application::store_contract_tests!(TestDatabase::create().await, |db| db.store());
}
