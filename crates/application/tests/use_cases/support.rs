use std::time::Duration;

use chrono::TimeZone;
use gatehouse_adapter_crypto::{Argon2Config, Argon2Hasher, JwtConfig, JwtIssuer, RandomTokens};
use gatehouse_adapter_memory::MemoryStore;
use gatehouse_application::use_cases::{Register, RegisterCommand, Registered};
use gatehouse_application::{Adapters, AuthPolicy};
use gatehouse_domain::{ClientInfo, Email, Password, PasswordRules, SecretString, Timestamp};
use gatehouse_testkit::{FixedClock, RecordingMailer};

pub type TestPorts =
    Adapters<MemoryStore, Argon2Hasher, JwtIssuer, RandomTokens, FixedClock, RecordingMailer>;

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

pub fn ports_with(policy: AuthPolicy) -> TestPorts {
    Adapters {
        store: MemoryStore::new(),
        hasher: Argon2Hasher::new(&cheap_argon2()).unwrap(),
        tokens: JwtIssuer::hs256(&JwtConfig {
            issuer: "gatehouse".into(),
            audience: "gatehouse".into(),
            secret: SecretString::new("test-secret-that-is-at-least-32-bytes"),
        }),
        opaque: RandomTokens,
        clock: FixedClock::at(start()),
        mailer: RecordingMailer::default(),
        policy,
    }
}

pub fn ports() -> TestPorts {
    ports_with(AuthPolicy::default())
}

pub const EMAIL: &str = "ada@example.com";
pub const PASSWORD: &str = "analytical engine 1843";

pub fn client() -> ClientInfo {
    ClientInfo::new(Some("203.0.113.7".into()), Some("test-agent/1.0"))
}

pub fn email(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

pub fn password(raw: &str) -> Password {
    Password::new(raw, &PasswordRules::default(), None).unwrap()
}

pub async fn register(ports: &TestPorts) -> Registered {
    Register::new(ports)
        .execute(RegisterCommand {
            email: email(EMAIL),
            password: password(PASSWORD),
            client: client(),
        })
        .await
        .unwrap()
}
