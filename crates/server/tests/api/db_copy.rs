//! `gatehouse db copy`: a project that starts on SQLite moves to
//! PostgreSQL and keeps its users, sessions, keys and second factors.

use std::process::Command;

use serde_json::json;
use totp_rs::{Algorithm, Secret, TOTP};

use gatehouse_adapter_sqlite::tables;

use crate::support::*;

fn code_now(secret: &str) -> String {
    let raw = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, raw, None, String::new())
        .generate_current()
        .unwrap()
}

fn db_copy(from: &str, to: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["db", "copy", "--from", from, "--to", to])
        .env_clear()
        .output()
        .unwrap()
}

#[actix_web::test]
async fn every_row_moves_from_sqlite_to_postgres_and_keeps_working() {
    // Whatever store the suite runs on, this test goes from one to the other.
    let lite = std::sync::Arc::new(TestDb::Sqlite(SqliteDatabase::create().await));
    let before = spawn_on(lite.clone(), &[]).await;
    // Ada: a session, a rotated refresh token, an API key, TOTP with backup codes.
    let registered = before.register("ada@example.com").await;
    let access = str_of(&registered.body, "access_token").to_owned();
    before.mark_verified("ada@example.com").await;
    let refreshed = before
        .refresh(str_of(&registered.body, "refresh_token"))
        .await;
    assert_eq!(refreshed.status.as_u16(), 200);
    let refresh_token = str_of(&refreshed.body, "refresh_token").to_owned();
    let key = before
        .post_as("/v1/users/me/api-keys", &access, &json!({ "name": "ci" }))
        .await;
    let api_key = str_of(&key.body, "key").to_owned();
    let setup = before
        .post_as("/v1/users/me/mfa/totp/setup", &access, &json!({}))
        .await;
    let secret = str_of(&setup.body, "secret").to_owned();
    let enabled = before
        .post_as(
            "/v1/users/me/mfa/totp/enable",
            &access,
            &json!({ "code": code_now(&secret) }),
        )
        .await;
    assert_eq!(enabled.status.as_u16(), 200, "{}", enabled.body);
    let backup: Vec<String> = serde_json::from_value(enabled.body["backup_codes"].clone()).unwrap();
    // Bob: another user, and a failed login counted against him.
    before.register("bob@example.com").await;
    before.login("bob@example.com", "not the password").await;
    let counts: Vec<i64> = {
        let mut counts = Vec::new();
        for table in tables() {
            counts.push(
                before
                    .count(&format!("SELECT count(*) AS n FROM {table}"))
                    .await,
            );
        }
        counts
    };
    drop(before);

    let pg = std::sync::Arc::new(TestDb::Postgres(PgDatabase::create().await));
    let copied = db_copy(&lite.url(), &pg.url());
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    let after = spawn_on(pg.clone(), &[]).await;
    // The two schemas have the same columns, which the copy matches by name.
    for table in tables() {
        let lite_columns = SqliteDatabase::count(
            lite.sqlite().unwrap(),
            &format!("SELECT count(*) AS n FROM pragma_table_info('{table}')"),
        )
        .await;
        let pg_columns = after
            .count(&format!(
                "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = '{table}'"
            ))
            .await;
        assert_eq!(lite_columns, pg_columns, "{table}");
    }
    for (table, n) in tables().zip(&counts) {
        assert_eq!(
            after
                .count(&format!("SELECT count(*) AS n FROM {table}"))
                .await,
            *n,
            "{table}"
        );
    }
    // The old access token's session, the rotated refresh token, the API
    // key, the password with a backup code: all work on PostgreSQL.
    assert_eq!(
        after
            .get("/v1/users/me", Some(&access))
            .await
            .status
            .as_u16(),
        200
    );
    assert_eq!(after.refresh(&refresh_token).await.status.as_u16(), 200);
    let by_key = after
        .get_with_header("/v1/users/me", "x-api-key", &api_key)
        .await;
    assert_eq!(by_key.status.as_u16(), 200, "{}", by_key.body);
    after
        .login("ada@example.com", PASSWORD)
        .await
        .assert_problem(401, "MFA_REQUIRED");
    let second_factor = after
        .post(
            "/v1/auth/login",
            &json!({ "email": "ada@example.com", "password": PASSWORD, "otp": backup[0] }),
        )
        .await;
    assert_eq!(second_factor.status.as_u16(), 200, "{}", second_factor.body);

    // A second copy into the now non-empty database is refused, and changes nothing.
    let again = db_copy(&lite.url(), &pg.url());
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(after.count("SELECT count(*) AS n FROM users").await, 2);
}

#[test]
fn only_sqlite_to_postgres_and_an_existing_file_are_accepted() {
    let missing = db_copy(
        "sqlite:///nonexistent/gatehouse-copy-test.db",
        "postgres://postgres@127.0.0.1:5432/never_made",
    );
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no SQLite file"));
    let backwards = db_copy("postgres://x@y/z", "sqlite://x.db");
    assert!(!backwards.status.success());
    assert!(
        String::from_utf8_lossy(&backwards.stderr).contains("sqlite:// store to a postgres://")
    );
}
