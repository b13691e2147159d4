//! The shared store contract on PostgreSQL, and what registration leaves
//! at rest.

use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_application::AuthPolicy;
use gatehouse_domain::Role;

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

/// The shared store contract, as the SQLite adapter also runs it.
mod shared {
    use gatehouse_adapter_postgres::test_support::TestDatabase;

    gatehouse_application::store_contract_tests!(TestDatabase::create().await, |db| db.store());
}
