//! Minting what a successful authentication hands out: a new session (token
//! family) with its first refresh token, and access tokens for it.

use std::time::Duration;

use gatehouse_domain::{
    Amr, ClientInfo, Role, SecretString, SessionId, Timestamp, UserId, refresh::token_expiry,
};

use crate::ports::{
    AccessClaims, NewRefreshToken, NewSession, OpaqueTokens, PortError, Ports, TokenIssuer,
};

/// What a client receives: a short-lived access token and the refresh token.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: SecretString,
    pub expires_in: Duration,
    pub refresh_token: SecretString,
}

pub(crate) fn add(at: Timestamp, d: Duration) -> Timestamp {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

/// `at - d`, saturating at the earliest instant.
pub(crate) fn sub(at: Timestamp, d: Duration) -> Timestamp {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| at.checked_sub_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC)
}

/// A refresh token and its stored form, expiring by the idle TTL but never
/// after the session.
pub(crate) fn new_refresh_token<P: Ports>(
    ports: &P,
    now: Timestamp,
    session_expires_at: Timestamp,
) -> Result<(SecretString, NewRefreshToken), PortError> {
    let token = ports.opaque().generate()?;
    let record = NewRefreshToken {
        id: uuid::Uuid::now_v7(),
        digest: ports.opaque().digest(token.expose()),
        issued_at: now,
        expires_at: token_expiry(
            now,
            ports.policy().refresh_token_idle_ttl,
            session_expires_at,
        ),
    };
    Ok((token, record))
}

pub(crate) fn new_session<P: Ports>(
    ports: &P,
    user_id: UserId,
    amr: Amr,
    client: &ClientInfo,
    now: Timestamp,
) -> Result<(NewSession, SecretString), PortError> {
    let expires_at = add(now, ports.policy().session_max_lifetime);
    let (refresh_token, first_token) = new_refresh_token(ports, now, expires_at)?;
    let session = NewSession {
        id: SessionId::new(),
        user_id,
        created_at: now,
        expires_at,
        amr,
        client: client.clone(),
        first_token,
    };
    Ok((session, refresh_token))
}

/// What an access token says of its session besides the user.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionFacts {
    pub session_id: SessionId,
    pub role: Role,
    pub amr: Amr,
    pub auth_time: Timestamp,
}

pub(crate) fn access_token<P: Ports>(
    ports: &P,
    user_id: UserId,
    facts: SessionFacts,
    now: Timestamp,
) -> Result<SecretString, PortError> {
    let ttl = ports.policy().access_token_ttl;
    ports.tokens().issue(&AccessClaims {
        user_id,
        session_id: facts.session_id,
        role: facts.role,
        amr: facts.amr,
        auth_time: facts.auth_time,
        jti: uuid::Uuid::now_v7(),
        issued_at: now,
        expires_at: add(now, ttl),
    })
}

pub(crate) fn pair<P: Ports>(
    ports: &P,
    access_token: SecretString,
    refresh_token: SecretString,
) -> TokenPair {
    TokenPair {
        access_token,
        expires_in: ports.policy().access_token_ttl,
        refresh_token,
    }
}
