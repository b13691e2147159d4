//! Bearer authentication and `/v1/users/me`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::support::*;

pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn sign(claims: &Value, secret: &str) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[actix_web::test]
async fn me_returns_the_caller() {
    let app = spawn_app().await;
    let registered = app.register("ada@example.com").await;
    let r = app
        .get(
            "/v1/users/me",
            Some(str_of(&registered.body, "access_token")),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body, registered.body["user"]);
}

#[actix_web::test]
async fn a_missing_token_is_challenged() {
    let app = spawn_app().await;
    let r = app.get("/v1/users/me", None).await;
    r.assert_problem(401, "AUTH_TOKEN_MISSING");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
}

#[actix_web::test]
async fn bad_tokens_are_invalid_and_old_ones_expired() {
    let app = spawn_app().await;
    let registered = app.register("ada@example.com").await;
    let good = str_of(&registered.body, "access_token");
    let claims = claims_of(good);
    let now = chrono::Utc::now().timestamp();

    let expired = sign(
        &with(
            &claims,
            &[("exp", json!(now - 60)), ("iat", json!(now - 960))],
        ),
        SECRET,
    );
    let r = app.get("/v1/users/me", Some(&expired)).await;
    r.assert_problem(401, "AUTH_TOKEN_EXPIRED");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));

    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#);
    let alg_none = format!("{none_header}.{}.", good.split('.').nth(1).unwrap());
    let wrong_aud = sign(&with(&claims, &[("aud", json!("someone-else"))]), SECRET);
    let wrong_iss = sign(&with(&claims, &[("iss", json!("someone-else"))]), SECRET);
    let wrong_key = sign(&claims, "another-secret-that-is-long-enough-000000");
    let mut tampered = good.to_owned();
    tampered.push('x');
    for token in [
        alg_none,
        wrong_aud,
        wrong_iss,
        wrong_key,
        tampered,
        "garbage".to_owned(),
    ] {
        let r = app.get("/v1/users/me", Some(&token)).await;
        r.assert_problem(401, "AUTH_TOKEN_INVALID");
        assert!(r.header("www-authenticate").is_some());
    }
    let r = app
        .get_with_header("/v1/users/me", "authorization", &format!("Basic {good}"))
        .await;
    r.assert_problem(401, "AUTH_TOKEN_INVALID");
}

/// The claims with some values replaced.
pub fn with(claims: &Value, overrides: &[(&str, Value)]) -> Value {
    let mut merged = claims.as_object().unwrap().clone();
    for (k, v) in overrides {
        merged.insert((*k).to_owned(), v.clone());
    }
    Value::Object(merged)
}

#[actix_web::test]
async fn a_disabled_account_is_refused_with_a_live_token() {
    let app = spawn_app().await;
    let registered = app.register("ada@example.com").await;
    app.sql("UPDATE users SET disabled_at = created_at").await;
    app.get(
        "/v1/users/me",
        Some(str_of(&registered.body, "access_token")),
    )
    .await
    .assert_problem(403, "ACCOUNT_DISABLED");
}

#[actix_web::test]
async fn after_logout_a_live_access_token_is_revoked() {
    let app = spawn_app().await;
    let registered = app.register("ada@example.com").await;
    let access = str_of(&registered.body, "access_token");
    let r = app
        .post(
            "/v1/auth/logout",
            &serde_json::json!({ "refresh_token": str_of(&registered.body, "refresh_token") }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    let r = app.get("/v1/users/me", Some(access)).await;
    r.assert_problem(401, "AUTH_TOKEN_REVOKED");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));

    // A disabled account is told so first.
    app.sql("UPDATE users SET disabled_at = created_at").await;
    app.get("/v1/users/me", Some(access))
        .await
        .assert_problem(403, "ACCOUNT_DISABLED");
}

#[actix_web::test]
async fn a_token_naming_another_users_session_is_revoked() {
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let bob_sid = claims_of(str_of(&bob.body, "access_token"))["sid"].clone();
    let forged = with(
        &claims_of(str_of(&ada.body, "access_token")),
        &[("sid", bob_sid)],
    );
    app.get("/v1/users/me", Some(&sign(&forged, SECRET)))
        .await
        .assert_problem(401, "AUTH_TOKEN_REVOKED");
}
