//! Recent authentication over HTTP: `auth_time` in access tokens, kept by
//! refresh; `403 REAUTH_REQUIRED` for keys and MFA enrolment with an old
//! one; `POST /v1/auth/reauth` for a fresh one in the same session.

use serde_json::{Value, json};

use crate::me::{claims_of, sign, with};
use crate::support::*;

/// The caller's access token re-signed as if its sign-in were an hour old
/// (the session and everything else as they are).
fn an_hour_old(access: &str) -> String {
    let claims = claims_of(access);
    let old = claims["auth_time"].as_i64().unwrap() - 3_600;
    sign(&with(&claims, &[("auth_time", json!(old))]), SECRET)
}

#[actix_web::test]
async fn an_old_sign_in_must_reauthenticate_before_making_keys_or_enrolling() {
    let app = spawn_app().await;
    let registered = app.register("ada@example.com").await;
    let access = str_of(&registered.body, "access_token").to_owned();
    let claims = claims_of(&access);
    assert_eq!(claims["auth_time"], claims["iat"], "signed in just now");
    app.mark_verified("ada@example.com").await;

    let stale = an_hour_old(&access);
    app.post_as("/v1/users/me/api-keys", &stale, &json!({ "name": "ci" }))
        .await
        .assert_problem(403, "REAUTH_REQUIRED");
    app.post_as("/v1/users/me/mfa/totp/setup", &stale, &json!({}))
        .await
        .assert_problem(403, "REAUTH_REQUIRED");
    // Other calls take the old token as before.
    assert_eq!(
        app.get("/v1/users/me", Some(&stale)).await.status.as_u16(),
        200
    );

    app.post_as(
        "/v1/auth/reauth",
        &stale,
        &json!({ "password": "not the password" }),
    )
    .await
    .assert_problem(403, "INVALID_CREDENTIALS");
    let fresh = app
        .post_as("/v1/auth/reauth", &stale, &json!({ "password": PASSWORD }))
        .await;
    assert_eq!(fresh.status.as_u16(), 200, "{}", fresh.body);
    assert_eq!(fresh.header("cache-control"), Some("no-store"));
    assert!(fresh.body.get("refresh_token").is_none());
    assert_eq!(fresh.body["token_type"], "Bearer");
    let renewed = str_of(&fresh.body, "access_token").to_owned();
    let renewed_claims = claims_of(&renewed);
    assert_eq!(renewed_claims["sid"], claims["sid"], "the same session");
    assert!(renewed_claims["auth_time"].as_i64() >= claims["auth_time"].as_i64());

    let key = app
        .post_as("/v1/users/me/api-keys", &renewed, &json!({ "name": "ci" }))
        .await;
    assert_eq!(key.status.as_u16(), 201, "{}", key.body);
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM mail_outbox WHERE subject = 'A new API key was created'"
        )
        .await,
        1,
        "the owner is told"
    );

    // A refresh keeps the session's auth_time (the reauthentication's).
    let refreshed = app.refresh(str_of(&registered.body, "refresh_token")).await;
    assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.body);
    assert_eq!(
        claims_of(str_of(&refreshed.body, "access_token"))["auth_time"],
        renewed_claims["auth_time"]
    );
}

#[actix_web::test]
async fn reauthentication_needs_a_live_session_and_counts_failures() {
    let app = spawn_app_with(&[("AUTH_LOGIN_MAX_FAILURES", "3")]).await;
    let registered = app.register("ada@example.com").await;
    let access = str_of(&registered.body, "access_token").to_owned();
    app.post("/v1/auth/reauth", &json!({ "password": PASSWORD }))
        .await
        .assert_problem(401, "AUTH_TOKEN_MISSING");
    app.post_as("/v1/auth/reauth", &access, &json!({}))
        .await
        .assert_problem(422, "VALIDATION_FAILED");
    for _ in 0..3 {
        app.post_as(
            "/v1/auth/reauth",
            &access,
            &json!({ "password": "wrong guess" }),
        )
        .await
        .assert_problem(403, "INVALID_CREDENTIALS");
    }
    app.post_as("/v1/auth/reauth", &access, &json!({ "password": PASSWORD }))
        .await
        .assert_problem(429, "TOO_MANY_ATTEMPTS");
    // A logged-out session cannot be renewed.
    let app = spawn_app().await;
    let registered = app.register("bob@example.com").await;
    let access = str_of(&registered.body, "access_token").to_owned();
    app.post(
        "/v1/auth/logout",
        &json!({ "refresh_token": str_of(&registered.body, "refresh_token") }),
    )
    .await;
    app.post_as("/v1/auth/reauth", &access, &json!({ "password": PASSWORD }))
        .await
        .assert_problem(401, "AUTH_TOKEN_REVOKED");
}

fn totp_now(secret: &str) -> String {
    let raw = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, raw, None, String::new())
        .generate_current()
        .unwrap()
}

/// Enrols TOTP for the signed-in `access`; answers the secret.
async fn enrol(app: &TestApp, email: &str, access: &str) -> String {
    app.mark_verified(email).await;
    let setup = app
        .post_as("/v1/users/me/mfa/totp/setup", access, &json!({}))
        .await;
    let secret = str_of(&setup.body, "secret").to_owned();
    let enabled = app
        .post_as(
            "/v1/users/me/mfa/totp/enable",
            access,
            &json!({ "code": totp_now(&secret) }),
        )
        .await;
    assert_eq!(enabled.status.as_u16(), 200, "{}", enabled.body);
    secret
}

#[actix_web::test]
async fn with_mfa_on_reauthentication_needs_the_code_too() {
    let app = spawn_app().await;
    let registered = app.register("ada@example.com").await;
    let access = str_of(&registered.body, "access_token").to_owned();
    enrol(&app, "ada@example.com", &access).await;
    app.post_as("/v1/auth/reauth", &access, &json!({ "password": PASSWORD }))
        .await
        .assert_problem(401, "MFA_REQUIRED");
    app.post_as(
        "/v1/auth/reauth",
        &access,
        &json!({ "password": PASSWORD, "otp": "000000" }),
    )
    .await
    .assert_problem(401, "MFA_INVALID");
}

#[actix_web::test]
async fn an_admin_removes_a_users_mfa_and_every_session_ends() {
    let app = spawn_app().await;
    let root = crate::admin::admin(&app, "root@example.com").await;
    let registered = app.register("ada@example.com").await;
    let ada_access = str_of(&registered.body, "access_token").to_owned();
    let ada_id = str_of(&registered.body["user"], "id").to_owned();
    enrol(&app, "ada@example.com", &ada_access).await;
    app.login("ada@example.com", PASSWORD)
        .await
        .assert_problem(401, "MFA_REQUIRED");

    let path = format!("/v1/admin/users/{ada_id}/mfa");
    app.delete(&path, &ada_access)
        .await
        .assert_problem(403, "FORBIDDEN");
    let unknown = format!("/v1/admin/users/{}/mfa", uuid::Uuid::now_v7());
    app.delete(&unknown, &root)
        .await
        .assert_problem(404, "NOT_FOUND");
    let removed = app.delete(&path, &root).await;
    assert_eq!(removed.status.as_u16(), 204, "{}", removed.body);

    app.get("/v1/users/me", Some(&ada_access))
        .await
        .assert_problem(401, "AUTH_TOKEN_REVOKED");
    let plain = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(plain.status.as_u16(), 200, "{}", plain.body);
    let me: Value = app
        .get("/v1/users/me", Some(str_of(&plain.body, "access_token")))
        .await
        .body;
    assert_eq!(me["mfa_enabled"], false);
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM mail_outbox WHERE subject = 'Two-step sign-in was removed by an administrator'"
        )
        .await,
        1
    );
}
