//! The traits use cases depend on. Each method's doc is its contract, and
//! the store contract (`contract`, behind the `contract-tests` feature)
//! makes it executable: every store adapter (PostgreSQL and SQLite today)
//! runs all of it. [`Store`] names the set of store ports.
//!
//! Methods return `impl Future + Send` rather than using `async fn` so that
//! generic services stay `Send` inside multi-threaded runtimes.

mod account_tokens;
mod admin_store;
mod api_keys;
mod audit_log;
mod breached_passwords;
mod clock;
mod data_cipher;
mod housekeeping;
mod mail_outbox;
mod mailer;
mod mfa_store;
mod one_time_codes;
mod opaque_tokens;
mod password_hasher;
mod readiness;
mod session_store;
mod sign_in;
mod token_issuer;
mod unit_of_work;
mod user_store;

pub use account_tokens::{
    AccountTokenStore, EmailVerification, MailedToken, PasswordReset, ResetRequest, Throttle,
    TokenPurpose, VerificationRequest,
};
pub use admin_store::{AdminStore, AuditQuery, UpdateUserError, UserQuery, UserUpdate};
pub use api_keys::{ApiKeyStore, ApiKeyView, CreateApiKeyError, KeyHolder, NewApiKey};
pub use audit_log::{AuditLog, AuditTx};
pub use breached_passwords::BreachedPasswords;
pub use clock::Clock;
pub use data_cipher::{DataCipher, SealPurpose};
pub use housekeeping::{Housekeeping, Sweep, Swept};
pub use mail_outbox::{ClaimedMail, DeliveryOutcome, MailOutbox, OutboxTx, OutgoingMail};
pub use mailer::{Mail, Mailer};
pub use mfa_store::{MfaDisable, MfaEnable, MfaRemoval, MfaState, MfaStore};
pub use one_time_codes::{OneTimeCodes, SecretBytes, TotpEnrolment};
pub use opaque_tokens::{OpaqueTokens, TokenDigest};
pub use password_hasher::{HashError, PasswordHasher, Verified};
pub use readiness::{PoolLoad, Readiness};
pub use session_store::{
    NewRefreshToken, NewSession, RevokeReason, Rotation, RotationAttempt, RotationOutcome,
    SessionRevocation, SessionStore, SessionTx, SessionView, StoredToken,
};
pub use sign_in::{
    AttemptKeys, AttemptRules, Lockout, LoginAttempt, LoginLookup, SessionStart, SignInGuard,
    SignInStore, ThrottleKey,
};
pub use token_issuer::{AccessClaims, AccessTokenError, TokenIssuer};
pub use unit_of_work::{Transactional, UnitOfWork};
pub use user_store::{
    CreateUserError, NewUser, PasswordChange, ProfileUpdate, SessionUser, UserCredentials,
    UserStore,
};

use crate::AuthPolicy;

/// Failure of an adapter that the caller cannot act on except by retrying
/// later (`Unavailable`: pool exhausted, database down or too slow), by
/// deciding again (`Conflict`), or not at all.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("a dependency is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// The writes lost to a concurrent change that the store's own rules
    /// (a constraint checked at commit) refused to combine with them; they
    /// were undone. Deciding again on fresh state settles it; use cases
    /// that cannot, answer as if unavailable (retry).
    #[error("the write conflicted with a concurrent one")]
    Conflict(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

/// Declares [`Store`] and its blanket impl from one list of ports.
macro_rules! store_ports {
    ($($port:ident),+ $(,)?) => {
        /// Every store port at once: what one database adapter implements.
        /// A new store port joins the list below and nothing else names the set.
        pub trait Store: $($port +)+ 'static {}

        impl<S> Store for S where S: $($port +)+ 'static {}
    };
}

store_ports!(
    UserStore,
    SessionStore,
    AccountTokenStore,
    MailOutbox,
    Housekeeping,
    SignInStore,
    AdminStore,
    ApiKeyStore,
    MfaStore,
    AuditLog,
    Transactional,
    Readiness,
);

/// Everything a use case may touch, bundled so signatures stay short.
pub trait Ports: Send + Sync + 'static {
    type Store: Store;
    type Hasher: PasswordHasher;
    type Tokens: TokenIssuer;
    type Opaque: OpaqueTokens;
    type Clock: Clock;
    type Mailer: Mailer;
    type Cipher: DataCipher;
    type Codes: OneTimeCodes;
    type Breached: BreachedPasswords;

    fn store(&self) -> &Self::Store;
    fn hasher(&self) -> &Self::Hasher;
    fn tokens(&self) -> &Self::Tokens;
    fn opaque(&self) -> &Self::Opaque;
    fn clock(&self) -> &Self::Clock;
    fn mailer(&self) -> &Self::Mailer;
    fn cipher(&self) -> &Self::Cipher;
    fn codes(&self) -> &Self::Codes;
    fn breached(&self) -> &Self::Breached;
    fn policy(&self) -> &AuthPolicy;
}

/// The usual way to bundle concrete adapters into [`Ports`].
#[derive(Debug, Clone)]
pub struct Adapters<Db, Hashing, Issuer, Random, Time, Mailing, Sealing, Otp, Breaches> {
    pub store: Db,
    pub hasher: Hashing,
    pub tokens: Issuer,
    pub opaque: Random,
    pub clock: Time,
    pub mailer: Mailing,
    pub cipher: Sealing,
    pub codes: Otp,
    pub breached: Breaches,
    pub policy: AuthPolicy,
}

impl<Db, Hashing, Issuer, Random, Time, Mailing, Sealing, Otp, Breaches> Ports
    for Adapters<Db, Hashing, Issuer, Random, Time, Mailing, Sealing, Otp, Breaches>
where
    Db: Store,
    Hashing: PasswordHasher + 'static,
    Issuer: TokenIssuer + 'static,
    Random: OpaqueTokens + 'static,
    Time: Clock + 'static,
    Mailing: Mailer + 'static,
    Sealing: DataCipher + 'static,
    Otp: OneTimeCodes + 'static,
    Breaches: BreachedPasswords + 'static,
{
    type Store = Db;
    type Hasher = Hashing;
    type Tokens = Issuer;
    type Opaque = Random;
    type Clock = Time;
    type Mailer = Mailing;
    type Cipher = Sealing;
    type Codes = Otp;
    type Breached = Breaches;

    fn store(&self) -> &Db {
        &self.store
    }
    fn hasher(&self) -> &Hashing {
        &self.hasher
    }
    fn tokens(&self) -> &Issuer {
        &self.tokens
    }
    fn opaque(&self) -> &Random {
        &self.opaque
    }
    fn clock(&self) -> &Time {
        &self.clock
    }
    fn mailer(&self) -> &Mailing {
        &self.mailer
    }
    fn cipher(&self) -> &Sealing {
        &self.cipher
    }
    fn codes(&self) -> &Otp {
        &self.codes
    }
    fn breached(&self) -> &Breaches {
        &self.breached
    }
    fn policy(&self) -> &AuthPolicy {
        &self.policy
    }
}
