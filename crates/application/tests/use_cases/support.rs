use std::time::Duration;

use chrono::TimeZone;
use gatehouse_adapter_crypto::{
    Argon2Config, Argon2Hasher, DataKeyCipher, JwtConfig, JwtIssuer, JwtKeys, RandomTokens,
    TotpCodes,
};
use gatehouse_adapter_sqlite::SqliteStore;
use gatehouse_adapter_sqlite::test_support::TestDatabase;
use gatehouse_application::use_cases::{Register, RegisterCommand, TokenPair};
use gatehouse_application::{Adapters, AuthPolicy, Ports};
use gatehouse_domain::{ClientInfo, Email, Password, PasswordRules, SecretString, Timestamp};
use gatehouse_testkit::{BreachList, FixedClock, HeldHasher, RecordingMailer};

pub type Wired = Adapters<
    SqliteStore,
    HeldHasher<Argon2Hasher>,
    JwtIssuer,
    RandomTokens,
    FixedClock,
    RecordingMailer,
    DataKeyCipher,
    TotpCodes,
    BreachList,
>;

pub fn start() -> Timestamp {
    chrono::Utc
        .with_ymd_and_hms(2030, 1, 1, 12, 0, 0)
        .single()
        .unwrap()
}

pub fn cheap_argon2() -> Argon2Config {
    Argon2Config {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
        max_concurrent: 4,
        queue_wait: Duration::from_secs(5),
    }
}

/// The real adapters on a fresh SQLite file (removed with the ports),
/// and the doubles for time, mail and the breach list.
pub struct TestPorts {
    wired: Wired,
    _database: TestDatabase,
}

impl std::ops::Deref for TestPorts {
    type Target = Wired;
    fn deref(&self) -> &Wired {
        &self.wired
    }
}

impl std::ops::DerefMut for TestPorts {
    fn deref_mut(&mut self) -> &mut Wired {
        &mut self.wired
    }
}

impl Ports for TestPorts {
    type Store = <Wired as Ports>::Store;
    type Hasher = <Wired as Ports>::Hasher;
    type Tokens = <Wired as Ports>::Tokens;
    type Opaque = <Wired as Ports>::Opaque;
    type Clock = <Wired as Ports>::Clock;
    type Mailer = <Wired as Ports>::Mailer;
    type Cipher = <Wired as Ports>::Cipher;
    type Codes = <Wired as Ports>::Codes;
    type Breached = <Wired as Ports>::Breached;

    fn store(&self) -> &Self::Store {
        self.wired.store()
    }
    fn hasher(&self) -> &Self::Hasher {
        self.wired.hasher()
    }
    fn tokens(&self) -> &Self::Tokens {
        self.wired.tokens()
    }
    fn opaque(&self) -> &Self::Opaque {
        self.wired.opaque()
    }
    fn clock(&self) -> &Self::Clock {
        self.wired.clock()
    }
    fn mailer(&self) -> &Self::Mailer {
        self.wired.mailer()
    }
    fn cipher(&self) -> &Self::Cipher {
        self.wired.cipher()
    }
    fn codes(&self) -> &Self::Codes {
        self.wired.codes()
    }
    fn breached(&self) -> &Self::Breached {
        self.wired.breached()
    }
    fn policy(&self) -> &AuthPolicy {
        self.wired.policy()
    }
}

pub async fn ports_with(policy: AuthPolicy) -> TestPorts {
    let database = TestDatabase::create().await;
    let wired = Adapters {
        store: database.store(),
        hasher: HeldHasher::new(Argon2Hasher::new(&cheap_argon2()).unwrap()),
        tokens: JwtIssuer::new(&JwtConfig {
            issuer: "gatehouse".into(),
            audience: "gatehouse".into(),
            keys: JwtKeys::Hs256(SecretString::new("test-secret-that-is-at-least-32-bytes")),
        }),
        opaque: RandomTokens,
        clock: FixedClock::at(start()),
        mailer: RecordingMailer::default(),
        cipher: DataKeyCipher::new(&SecretString::new(DATA_KEY)),
        codes: TotpCodes,
        breached: BreachList::none(),
        policy,
    };
    TestPorts {
        wired,
        _database: database,
    }
}

pub async fn ports() -> TestPorts {
    ports_with(AuthPolicy::default()).await
}

pub const EMAIL: &str = "ada@example.com";
pub const PASSWORD: &str = "analytical engine 1843";

pub const DATA_KEY: &str = "test-data-key-that-is-at-least-32-bytes";

pub fn client() -> ClientInfo {
    ClientInfo::new(Some("203.0.113.7".into()), Some("test-agent/1.0"))
}

pub fn email(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

pub fn password(raw: &str) -> Password {
    Password::new(raw, &PasswordRules::default(), None).unwrap()
}

pub async fn register(ports: &TestPorts) -> SignedUp {
    Register::new(ports)
        .execute(RegisterCommand {
            email: email(EMAIL),
            password: password(PASSWORD),
            name: None,
            client: client(),
        })
        .await
        .map(|r| SignedUp {
            user: r.user,
            tokens: r.tokens.expect("signed in at registration"),
        })
        .unwrap()
}

/// [`register`], then the mailed link followed: an account with its email
/// verified, as enrolling MFA needs.
pub async fn register_verified(ports: &TestPorts) -> SignedUp {
    let signed_up = register(ports).await;
    let mails = mails_about(ports, "Confirm your email").await;
    let token = link_token(mails.last().expect("a verification mail"));
    gatehouse_application::use_cases::email::VerifyEmail::new(ports)
        .execute(&token, &client())
        .await
        .unwrap();
    signed_up
}

/// A registration that signed the user in, as the default policy does.
#[derive(Debug)]
pub struct SignedUp {
    pub user: gatehouse_domain::User,
    pub tokens: TokenPair,
}

/// Every mail in the outbox, its body opened with the data key (empty once
/// sent or given up, when the store erased it).
pub async fn queued(ports: &TestPorts) -> Vec<gatehouse_application::ports::Mail> {
    use gatehouse_application::ports::{DataCipher, Mail, SealPurpose};
    ports
        .store
        .outbox()
        .await
        .into_iter()
        .map(|q| {
            let body = if q.body_erased {
                String::new()
            } else {
                let plain = ports
                    .cipher
                    .open(
                        SealPurpose::MailBody,
                        q.mail.id.as_bytes(),
                        &q.mail.sealed_body,
                    )
                    .unwrap();
                String::from_utf8(plain).unwrap()
            };
            Mail {
                to: q.mail.to,
                subject: q.mail.subject,
                body: SecretString::new(body),
            }
        })
        .collect()
}

/// The queued mails whose subject contains `about`.
pub async fn mails_about(
    ports: &TestPorts,
    about: &str,
) -> Vec<gatehouse_application::ports::Mail> {
    queued(ports)
        .await
        .into_iter()
        .filter(|m| m.subject.contains(about))
        .collect()
}

/// The token of the link in a mail.
pub fn link_token(mail: &gatehouse_application::ports::Mail) -> String {
    let body = mail.body.expose();
    let start = body.find("?token=").expect("a link") + "?token=".len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

pub trait ClockNow {
    fn clock_now(&self) -> Timestamp;
}

impl ClockNow for TestPorts {
    fn clock_now(&self) -> Timestamp {
        gatehouse_application::ports::Clock::now(&self.clock)
    }
}

#[allow(async_fn_in_trait)]
pub trait FindUserNow {
    async fn find_user_now(&self, id: gatehouse_domain::UserId) -> gatehouse_domain::User;
}

impl FindUserNow for SqliteStore {
    async fn find_user_now(&self, id: gatehouse_domain::UserId) -> gatehouse_domain::User {
        gatehouse_application::ports::UserStore::find_user(self, id)
            .await
            .unwrap()
            .unwrap()
    }
}
