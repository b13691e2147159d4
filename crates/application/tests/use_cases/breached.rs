//! The breach check on every new password: register, change, reset.

use gatehouse_application::AuthPolicy;
use gatehouse_application::ports::AccessClaims;
use gatehouse_application::use_cases::password::{
    ChangePassword, ChangePasswordCommand, ChangePasswordError,
};
use gatehouse_application::use_cases::{Authenticate, Register, RegisterCommand, RegisterError};
use gatehouse_domain::{Password, PasswordError};
use gatehouse_testkit::BreachList;

use crate::support::*;

const LEAKED: &str = "a leaked but long passphrase";

async fn ports_knowing(list: BreachList) -> TestPorts {
    let mut ports = ports_with(AuthPolicy::default()).await;
    ports.breached = list;
    ports
}

#[tokio::test]
async fn register_refuses_a_breached_password_before_hashing_or_writing() {
    let ports = ports_knowing(BreachList::of(&[LEAKED])).await;
    let refused = Register::new(&ports)
        .execute(RegisterCommand {
            email: email(EMAIL),
            password: password(LEAKED),
            name: None,
            client: client(),
        })
        .await;
    assert!(matches!(
        refused,
        Err(RegisterError::WeakPassword(PasswordError::Breached))
    ));
    assert!(
        ports.store.audit_events().await.is_empty(),
        "nothing written"
    );
    register(&ports).await;
    assert_eq!(ports.breached.asked(), 2);
}

#[tokio::test]
async fn a_change_to_a_breached_password_is_refused() {
    let ports = ports_knowing(BreachList::of(&[LEAKED])).await;
    let tokens = register(&ports).await.tokens;
    let me: AccessClaims = Authenticate::new(&ports)
        .execute(tokens.access_token.expose())
        .unwrap();
    let refused = ChangePassword::new(&ports)
        .execute(
            &me,
            ChangePasswordCommand {
                current: Password::presented(PASSWORD),
                new: Password::presented(LEAKED),
                client: client(),
            },
        )
        .await;
    assert!(matches!(
        refused,
        Err(ChangePasswordError::WeakPassword(PasswordError::Breached))
    ));
}
