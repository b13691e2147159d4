//! A sign-in against a cure of its account, on PostgreSQL: the cure landed
//! while the hash was checked (held by the test hasher), and the cure's
//! statement and the session's insert running at the same moment. After
//! both, nothing of the sign-in may be alive.

use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_application::AuthPolicy;
use gatehouse_application::ports::{RevokeReason, SessionRevocation, SessionStore};
use gatehouse_application::use_cases::password::{
    RequestPasswordReset, ResetPassword, ResetPasswordCommand,
};
use gatehouse_application::use_cases::{Login, LoginCommand, LoginError, TokenPair};
use gatehouse_domain::{AuditEvent, AuditKind, Email, Password, SecretString, UserId};

use crate::support::*;

const EMAIL: &str = "race@example.com";
const PASSWORD: &str = "a perfectly fine passphrase";

async fn login(ports: &PgPorts) -> Result<TokenPair, LoginError> {
    Login::new(ports)
        .execute(LoginCommand {
            otp: None,
            email: Email::parse(EMAIL).unwrap(),
            password: Password::presented(PASSWORD),
            client: client(),
        })
        .await
}

async fn live(ports: &PgPorts, user: UserId) -> usize {
    let now = gatehouse_application::ports::Clock::now(&ports.clock);
    ports.store.live_sessions(user, now).await.unwrap().len()
}

async fn sign_out_everywhere(ports: &PgPorts, user: UserId) {
    let now = gatehouse_application::ports::Clock::now(&ports.clock);
    ports
        .store
        .revoke_all_sessions(SessionRevocation {
            user_id: user,
            at: now,
            reason: RevokeReason::UserRevoked,
            audit: AuditEvent::new(AuditKind::SessionRevoked, now, Some(user), &client()),
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_that_lands_during_the_check_leaves_nothing_alive() {
    let db = TestDatabase::create().await;
    let ports = ports(&db, AuthPolicy::default());
    let user = register(&ports, EMAIL).await.user;
    RequestPasswordReset::new(&ports)
        .execute(Email::parse(EMAIL).unwrap(), &client())
        .await
        .unwrap();
    let mail = crate::mail::queued_link(&ports, "Reset your password").await;
    let held = ports.hasher.hold_next_check();
    let (result, ()) = tokio::join!(login(&ports), async {
        held.reached.await.unwrap();
        ResetPassword::new(&ports)
            .execute(ResetPasswordCommand {
                token: SecretString::new(mail),
                new_password: Password::presented("a fresh start passphrase"),
                client: client(),
            })
            .await
            .unwrap();
        let _ = held.release.send(());
    });
    assert!(
        matches!(result, Err(LoginError::InvalidCredentials)),
        "{result:?}"
    );
    assert_eq!(live(&ports, user.id).await, 0);
}

/// The sign-in's guarded insert and "sign out everywhere" let go at the
/// same moment, many times: whichever statement runs second sees the
/// other's work, so no round leaves a session alive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_everywhere_at_the_same_moment_leaves_nothing_alive() {
    let db = TestDatabase::create().await;
    // A sign-in that lost counts as a wrong password: rounds must not lock
    // the account (a locked attempt never reaches the held check).
    let mut policy = AuthPolicy::default();
    policy.lockout.per_network.max_failures = 1_000;
    policy.lockout.per_account.max_failures = 1_000;
    let ports = ports(&db, policy);
    let user = register(&ports, EMAIL).await.user;
    let mut outcomes = (0, 0);
    for _ in 0..25 {
        sign_out_everywhere(&ports, user.id).await;
        let held = ports.hasher.hold_next_check();
        let (result, ()) = tokio::join!(login(&ports), async {
            held.reached.await.unwrap();
            let _ = held.release.send(());
            sign_out_everywhere(&ports, user.id).await;
        });
        match result {
            Ok(_) => outcomes.0 += 1,
            Err(LoginError::InvalidCredentials) => outcomes.1 += 1,
            Err(other) => panic!("{other:?}"),
        }
        assert_eq!(live(&ports, user.id).await, 0, "after {outcomes:?}");
    }
}
