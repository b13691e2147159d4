//! What every contract case builds on: fixed instants, digests, a user,
//! a session, an audit event, a mail, an attempt.

use std::time::Duration;

use chrono::TimeZone;
use gatehouse_domain::*;

use crate::ports::*;

pub(crate) const RACERS: u8 = 16;

pub(crate) fn at(secs: i64) -> Timestamp {
    chrono::Utc
        .timestamp_opt(1_900_000_000 + secs, 0)
        .single()
        .unwrap()
}

pub(crate) fn digest(byte: u8) -> TokenDigest {
    TokenDigest(vec![byte; 32])
}

pub(crate) fn new_user(email: &str) -> NewUser {
    NewUser {
        id: UserId::new(),
        email: Email::parse(email).unwrap(),
        password_hash: PasswordHash::new("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"),
        role: Role::User,
        created_at: at(0),
        name: None,
        verification: None,
        email_verified: false,
    }
}

pub(crate) fn new_session(user_id: UserId, token: u8) -> NewSession {
    NewSession {
        id: SessionId::new(),
        user_id,
        created_at: at(0),
        expires_at: at(1000),
        amr: gatehouse_domain::Amr::Password,
        client: ClientInfo::new(Some("192.0.2.1".into()), Some("contract")),
        first_token: NewRefreshToken {
            id: uuid::Uuid::now_v7(),
            digest: digest(token),
            issued_at: at(0),
            expires_at: at(100),
        },
    }
}

pub(crate) fn audit(kind: AuditKind, user_id: UserId) -> AuditEvent {
    AuditEvent::new(kind, at(0), Some(user_id), &ClientInfo::default())
}

/// A queued mail to `to`; its body is opaque to the store.
pub(crate) fn mail_to(to: &str, queued_at: Timestamp) -> OutgoingMail {
    OutgoingMail {
        id: uuid::Uuid::now_v7(),
        to: Email::parse(to).unwrap(),
        subject: "contract".into(),
        sealed_body: vec![7; 40],
        queued_at,
    }
}

/// Every mail not yet sent or given up, claimed far in the future (so this
/// ends the test's use of the outbox).
pub(crate) async fn pending<S: MailOutbox>(store: &S) -> Vec<ClaimedMail> {
    store
        .claim_due_mail(at(1_000_000), at(2_000_000), 1_000)
        .await
        .unwrap()
}

pub(crate) fn attempt(token: u8, successor: u8, now: i64, idle_end: i64) -> RotationAttempt {
    RotationAttempt {
        digest: digest(token),
        at: at(now),
        sealed_successor: Some(vec![token, successor]),
        successor: NewRefreshToken {
            id: uuid::Uuid::now_v7(),
            digest: digest(successor),
            issued_at: at(now),
            expires_at: at(idle_end),
        },
        audit: Some(AuditEvent::new(
            AuditKind::TokenRefreshed,
            at(now),
            None,
            &ClientInfo::default(),
        )),
    }
}

pub(crate) async fn current_token<S: SessionStore + Transactional>(
    store: &S,
    token: u8,
) -> crate::ports::StoredToken {
    let mut tx = store.begin().await.unwrap();
    let stored = tx.lock_token(&digest(token)).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    stored
}

pub(crate) fn revocation(user_id: UserId, now: i64) -> SessionRevocation {
    SessionRevocation {
        user_id,
        at: at(now),
        reason: RevokeReason::UserRevoked,
        audit: AuditEvent::new(
            AuditKind::SessionRevoked,
            at(now),
            Some(user_id),
            &ClientInfo::default(),
        ),
    }
}

pub(crate) fn token(
    byte: u8,
    purpose: TokenPurpose,
    to: &str,
    created: i64,
    ttl: i64,
) -> MailedToken {
    MailedToken {
        digest: digest(byte),
        purpose,
        created_at: at(created),
        expires_at: at(created + ttl),
        mail: mail_to(to, at(created)),
    }
}

pub(crate) fn no_throttle(now: i64) -> Throttle {
    Throttle {
        since: at(now - 3_600),
        max: 100,
    }
}

pub(crate) fn attempt_on(network: &str, rules: AttemptRules, at_secs: i64) -> LoginAttempt {
    LoginAttempt {
        id: uuid::Uuid::now_v7(),
        keys: AttemptKeys {
            network: ThrottleKey(format!("contract-net-{network}-0123456789")),
            account: ThrottleKey("contract-account-0123456789".into()),
        },
        at: at(at_secs),
        rules,
    }
}

pub(crate) fn rules(per_network: u32, per_account: u32) -> AttemptRules {
    let rule = |max_failures| Lockout {
        max_failures,
        first: Duration::from_secs(10),
        longest: Duration::from_secs(1 << 30),
    };
    AttemptRules {
        per_network: rule(per_network),
        per_account: rule(per_account),
    }
}

/// A user as `new_user` makes it, registered without a session.
pub(crate) async fn user<S: UserStore>(store: &S, email: &str) -> UserId {
    let user = new_user(email);
    let id = user.id;
    store
        .create_user(user, None, audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    id
}

/// A user registered with its first session, whose token is `digest(token)`.
pub(crate) async fn user_with_session<S: UserStore>(
    store: &S,
    email: &str,
    token: u8,
) -> (UserId, SessionId) {
    let user = new_user(email);
    let id = user.id;
    let session = new_session(id, token);
    let session_id = session.id;
    store
        .create_user(user, Some(session), audit(AuditKind::UserRegistered, id))
        .await
        .unwrap();
    (id, session_id)
}
