use std::time::Duration;

use chrono::TimeZone;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use gatehouse_adapter_crypto::{
    Argon2Config, Argon2Hasher, DataKeyCipher, JwtConfig, JwtIssuer, JwtKeys, RandomTokens,
    TotpCodes,
};
use gatehouse_adapter_postgres::PgStore;
use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_application::use_cases::{Register, RegisterCommand, TokenPair};
use gatehouse_application::{Adapters, AuthPolicy};
use gatehouse_domain::{ClientInfo, Email, Password, PasswordRules, SecretString};
use gatehouse_testkit::{BreachList, FixedClock, HeldHasher, RecordingMailer};

pub type PgPorts = Adapters<
    PgStore,
    HeldHasher<Argon2Hasher>,
    JwtIssuer,
    RandomTokens,
    FixedClock,
    RecordingMailer,
    DataKeyCipher,
    TotpCodes,
    BreachList,
>;

pub fn ports(db: &TestDatabase, policy: AuthPolicy) -> PgPorts {
    let mut config = db.config();
    config.max_connections = 40;
    Adapters {
        store: PgStore::connect(&config),
        hasher: HeldHasher::new(
            Argon2Hasher::new(&Argon2Config {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
                max_concurrent: 2,
                queue_wait: Duration::from_secs(5),
            })
            .unwrap(),
        ),
        tokens: JwtIssuer::new(&JwtConfig {
            issuer: "gatehouse".into(),
            audience: "gatehouse".into(),
            keys: JwtKeys::Hs256(SecretString::new("test-secret-that-is-at-least-32-bytes")),
        }),
        opaque: RandomTokens,
        clock: FixedClock::at(chrono::Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()),
        mailer: RecordingMailer::default(),
        cipher: DataKeyCipher::new(&SecretString::new(DATA_KEY)),
        codes: TotpCodes,
        breached: BreachList::none(),
        policy,
    }
}

pub const DATA_KEY: &str = "test-data-key-that-is-at-least-32-bytes";

pub fn client() -> ClientInfo {
    ClientInfo::new(Some("198.51.100.4".into()), Some("pg-tests"))
}

pub async fn register(ports: &PgPorts, email: &str) -> SignedUp {
    Register::new(ports)
        .execute(RegisterCommand {
            email: Email::parse(email).unwrap(),
            password: Password::new(
                "a perfectly fine passphrase",
                &PasswordRules::default(),
                None,
            )
            .unwrap(),
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

/// A registration that signed the user in, as the default policy does.
#[derive(Debug)]
pub struct SignedUp {
    pub user: gatehouse_domain::User,
    pub tokens: TokenPair,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Counts rows with plain SQL on a separate connection, outside any unit of work.
pub async fn count(db: &TestDatabase, sql: &str) -> i64 {
    let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
    diesel_async::RunQueryDsl::get_result::<Count>(diesel::sql_query(sql), &mut conn)
        .await
        .unwrap()
        .n
}
