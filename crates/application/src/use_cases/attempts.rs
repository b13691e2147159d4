//! Starting an attempt to check a password or code for an account: the
//! counters it spends from (the account on the client's network, and the
//! account across networks) and the one store step that counts it and
//! checks their lockout together.

use std::time::Duration;

use gatehouse_domain::{ClientInfo, Email, client_network_of};

use crate::ports::{
    AttemptKeys, Clock, DataCipher, LoginAttempt, LoginLookup, PortError, Ports, SignInStore,
    ThrottleKey,
};

/// The counters of `email` as seen from `client`'s network. The account's
/// key is the digest of the email alone (as kept before networks were
/// counted apart), the network's adds the network after a separator no
/// email contains.
pub(crate) fn keys<P: Ports>(ports: &P, email: &Email, client: &ClientInfo) -> AttemptKeys {
    let network = client
        .ip
        .as_deref()
        .and_then(client_network_of)
        .map_or_else(|| "unknown".to_owned(), |n| n.to_string());
    let cipher = ports.cipher();
    AttemptKeys {
        network: ThrottleKey(
            cipher.keyed_digest(format!("{}\n{network}", email.as_str()).as_bytes()),
        ),
        account: ThrottleKey(cipher.keyed_digest(email.as_str().as_bytes())),
    }
}

/// An attempt let in (and counted), or the wait before one may be. Made
/// once per attempt and matched at once: its size costs nothing.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Begun {
    Started(LoginAttempt, LoginLookup),
    Throttled(Duration),
}

pub(crate) async fn begin<P: Ports>(
    ports: &P,
    email: &Email,
    client: &ClientInfo,
) -> Result<Begun, PortError> {
    let attempt = LoginAttempt {
        id: uuid::Uuid::now_v7(),
        keys: keys(ports, email, client),
        at: ports.clock().now(),
        rules: ports.policy().lockout,
    };
    let found = ports.store().begin_login_attempt(email, &attempt).await?;
    Ok(
        match found.locked_until.filter(|until| *until > attempt.at) {
            Some(until) => Begun::Throttled((until - attempt.at).to_std().unwrap_or_default()),
            None => Begun::Started(attempt, found),
        },
    )
}
