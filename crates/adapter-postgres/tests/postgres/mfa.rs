//! MFA against PostgreSQL: nothing of a secret or a backup code in the
//! database, in any encoding (the code races are in the store contract).

use base64::Engine as _;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use gatehouse_adapter_postgres::test_support::TestDatabase;
use gatehouse_application::AuthPolicy;
use gatehouse_application::ports::{AccessClaims, Clock};
use gatehouse_application::use_cases::Authenticate;
use gatehouse_application::use_cases::mfa::{EnableTotp, SetupTotp};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::support::*;

const EMAIL: &str = "mfa@example.com";

fn code(ports: &PgPorts, secret: &[u8], offset: i64) -> String {
    let totp = TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        1,
        30,
        secret.to_vec(),
        None,
        String::new(),
    );
    let now = ports.clock.now().timestamp() + offset * 30;
    totp.generate(u64::try_from(now).unwrap())
}

struct Enrolled {
    secret_base32: String,
    secret: Vec<u8>,
    backup: Vec<String>,
    otpauth_uri: String,
}

async fn enrol(ports: &PgPorts) -> Enrolled {
    let signed_up = register(ports, EMAIL).await;
    // Enrolling needs a verified email.
    let link = crate::mail::queued_link(ports, "Confirm your email").await;
    gatehouse_application::use_cases::email::VerifyEmail::new(ports)
        .execute(&link, &client())
        .await
        .unwrap();
    let me: AccessClaims = Authenticate::new(ports)
        .execute(signed_up.tokens.access_token.expose())
        .unwrap();
    let setup = SetupTotp::new(ports).execute(&me).await.unwrap();
    let secret_base32 = setup.secret_base32.expose().to_owned();
    let secret = Secret::Encoded(secret_base32.clone()).to_bytes().unwrap();
    let backup = EnableTotp::new(ports)
        .execute(&me, &code(ports, &secret, 0), &client())
        .await
        .unwrap();
    ports.clock.advance(std::time::Duration::from_secs(30));
    Enrolled {
        secret_base32,
        secret,
        backup: backup.iter().map(|c| c.expose().to_owned()).collect(),
        otpauth_uri: setup.otpauth_uri.expose().to_owned(),
    }
}

fn policy() -> AuthPolicy {
    let mut policy = AuthPolicy::default();
    // Sixteen losers must not lock the account for the test's next step.
    policy.lockout.per_network.max_failures = 1_000;
    policy.lockout.per_account.max_failures = 1_000;
    policy
}

#[tokio::test]
async fn the_database_holds_no_secret_and_no_backup_code_in_any_encoding() {
    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    let db = TestDatabase::create().await;
    let ports = ports(&db, policy());
    let enrolled = enrol(&ports).await;

    let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
    let tables: Vec<Table> = diesel_async::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT table_name AS name FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    let mut dump = String::new();
    for table in tables {
        let rows: Vec<Row> = diesel_async::RunQueryDsl::load(
            diesel::sql_query(format!(
                "SELECT row_to_json(t)::text AS row FROM \"{}\" t",
                table.name
            )),
            &mut conn,
        )
        .await
        .unwrap();
        for row in rows {
            dump.push_str(&row.row.to_lowercase());
            dump.push('\n');
        }
    }
    // The scan saw the rows that matter: ten codes, and the sealed secret.
    let backup_rows = dump
        .lines()
        .filter(|l| l.starts_with("{\"user_id\"") && l.contains("\"digest\""))
        .count();
    assert_eq!(backup_rows, 10, "{dump}");
    assert!(dump.contains("\"totp_secret\":\"\\\\x"), "{dump}");
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut forbidden = vec![
        enrolled.secret_base32.to_lowercase(),
        hex(&enrolled.secret),
        b64.encode(&enrolled.secret).to_lowercase(),
        enrolled.otpauth_uri.to_lowercase(),
    ];
    for code in &enrolled.backup {
        forbidden.push(code.clone());
        forbidden.push(code.replace('-', ""));
        forbidden.push(hex(code.as_bytes()));
    }
    for needle in forbidden {
        assert!(!dump.contains(&needle), "{needle} is in the database");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
