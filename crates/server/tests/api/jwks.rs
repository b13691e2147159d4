//! EdDSA access tokens, the published key set and a rotation without
//! downtime.

use gatehouse_adapter_crypto::Ed25519SigningKey;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde_json::{Value, json};

use crate::me::claims_of;
use crate::support::*;

/// A key written to its own file, as an operator would keep it.
struct KeyFile {
    key: Ed25519SigningKey,
    path: std::path::PathBuf,
}

impl KeyFile {
    fn new() -> Self {
        let key = Ed25519SigningKey::generate().unwrap();
        let path = std::env::temp_dir().join(format!("gatehouse-key-{}.pem", uuid::Uuid::now_v7()));
        std::fs::write(&path, key.to_pem().unwrap().expose()).unwrap();
        Self { key, path }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }

    fn kid(&self) -> String {
        self.key.public().kid()
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn eddsa<'a>(signing: &'a KeyFile, accepted: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("AUTH_JWT_ALGORITHM", "EdDSA"),
        ("AUTH_JWT_PRIVATE_KEY_FILE", signing.path()),
        ("AUTH_JWT_VERIFY_KEY_FILES", accepted),
    ]
}

fn header_of(token: &str) -> Header {
    jsonwebtoken::decode_header(token).unwrap()
}

async fn key_set(app: &TestApp) -> (Response, JwkSet) {
    let r = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let set = serde_json::from_value(r.body.clone()).unwrap();
    (r, set)
}

#[actix_web::test]
async fn hs256_publishes_no_key() {
    let app = spawn_app().await;
    let (r, set) = key_set(&app).await;
    assert_eq!(r.body, json!({ "keys": [] }));
    assert!(set.keys.is_empty());
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[actix_web::test]
async fn another_service_verifies_an_eddsa_token_with_the_published_key() {
    let key = KeyFile::new();
    let app = spawn_app_with(&eddsa(&key, "")).await;
    let registered = app.register("ada@example.com").await;
    let token = str_of(&registered.body, "access_token");

    let header = header_of(token);
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.kid, Some(key.kid()));

    let (r, set) = key_set(&app).await;
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    assert_eq!(set.keys.len(), 1);
    let jwk = set.find(&key.kid()).expect("the signing key is published");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["gatehouse"]);
    validation.set_issuer(&["gatehouse"]);
    let verified =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap();
    assert_eq!(verified.claims, claims_of(token));
    assert!(
        r.body["keys"][0].get("d").is_none(),
        "never the private part"
    );

    let me = app.get("/v1/users/me", Some(token)).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.body);
}

#[actix_web::test]
async fn a_rotation_keeps_old_tokens_valid_until_the_old_key_is_dropped() {
    let old = KeyFile::new();
    let new = KeyFile::new();
    let before = spawn_app_with(&eddsa(&old, "")).await;
    let registered = before.register("ada@example.com").await;
    let old_token = str_of(&registered.body, "access_token").to_owned();
    let refresh = str_of(&registered.body, "refresh_token").to_owned();

    // Signing with the new key, the old one still accepted and published.
    let during = spawn_on(before.db.clone(), &eddsa(&new, old.path())).await;
    let me = during.get("/v1/users/me", Some(&old_token)).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.body);
    let (_, set) = key_set(&during).await;
    let kids: Vec<_> = set
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect();
    assert_eq!(kids, vec![new.kid(), old.kid()], "current first");
    let refreshed = during.refresh(&refresh).await;
    assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.body);
    let new_token = str_of(&refreshed.body, "access_token").to_owned();
    assert_eq!(header_of(&new_token).kid, Some(new.kid()));

    // The old key retired: its tokens are bad tokens, the new ones live.
    let after = spawn_on(before.db.clone(), &eddsa(&new, "")).await;
    after
        .get("/v1/users/me", Some(&old_token))
        .await
        .assert_problem(401, "AUTH_TOKEN_INVALID");
    let me = after.get("/v1/users/me", Some(&new_token)).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.body);
}

#[actix_web::test]
async fn a_token_signed_by_a_key_we_do_not_hold_is_invalid() {
    let ours = KeyFile::new();
    let stranger = KeyFile::new();
    let app = spawn_app_with(&eddsa(&ours, "")).await;
    let other = spawn_on(app.db.clone(), &eddsa(&stranger, "")).await;
    let registered = other.register("ada@example.com").await;
    let foreign = str_of(&registered.body, "access_token");
    app.get("/v1/users/me", Some(foreign))
        .await
        .assert_problem(401, "AUTH_TOKEN_INVALID");

    // The right body under our kid but the stranger's signature.
    let ours_token = str_of(
        &app.login("ada@example.com", PASSWORD).await.body,
        "access_token",
    )
    .to_owned();
    let mut parts: Vec<&str> = ours_token.split('.').collect();
    let forged_signature = foreign.split('.').nth(2).unwrap();
    parts[2] = forged_signature;
    app.get("/v1/users/me", Some(&parts.join(".")))
        .await
        .assert_problem(401, "AUTH_TOKEN_INVALID");

    // No kid at all, and an HS256 token under the HS256 test secret.
    let claims = claims_of(&ours_token);
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    let hs = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    app.get("/v1/users/me", Some(&hs))
        .await
        .assert_problem(401, "AUTH_TOKEN_INVALID");
}

#[actix_web::test]
async fn a_missing_or_unreadable_key_stops_the_start_naming_the_variable() {
    let db =
        std::sync::Arc::new(gatehouse_adapter_postgres::test_support::TestDatabase::create().await);
    let garbage = std::env::temp_dir().join(format!("gatehouse-bad-{}.pem", uuid::Uuid::now_v7()));
    std::fs::write(
        &garbage,
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let garbage_path = garbage.to_str().unwrap();
    for (vars, named) in [
        (
            vec![("AUTH_JWT_ALGORITHM", "EdDSA")],
            "AUTH_JWT_PRIVATE_KEY_FILE is required",
        ),
        (
            vec![
                ("AUTH_JWT_ALGORITHM", "EdDSA"),
                ("AUTH_JWT_PRIVATE_KEY_FILE", "/nonexistent/key.pem"),
            ],
            "AUTH_JWT_PRIVATE_KEY_FILE: reading /nonexistent/key.pem",
        ),
        (
            vec![
                ("AUTH_JWT_ALGORITHM", "EdDSA"),
                ("AUTH_JWT_PRIVATE_KEY_FILE", garbage_path),
            ],
            "AUTH_JWT_PRIVATE_KEY_FILE",
        ),
    ] {
        let config = test_config(&db.url, &vars);
        let err = gatehouse_server::Application::build(&config)
            .await
            .expect_err("the start is refused");
        let text = format!("{err:#}");
        assert!(text.contains(named), "{text}");
        assert!(
            !text.contains("c2VjcmV0"),
            "the file's content is never quoted"
        );
    }
    let _ = std::fs::remove_file(garbage);
}
