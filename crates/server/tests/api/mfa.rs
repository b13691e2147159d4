//! Two-step sign-in over HTTP: setup, enable with a code computed here
//! from the secret, login with a code or a backup code, disable.

use serde_json::json;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::me::claims_of;
use crate::support::*;

fn code_now(secret: &str) -> String {
    let raw = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, raw, None, String::new())
        .generate_current()
        .unwrap()
}

async fn login_with(app: &TestApp, otp: Option<&str>) -> Response {
    let mut body = json!({ "email": "ada@example.com", "password": PASSWORD });
    if let Some(otp) = otp {
        body["otp"] = json!(otp);
    }
    app.post("/v1/auth/login", &body).await
}

#[actix_web::test]
async fn the_whole_flow_from_setup_to_disable() {
    let app = spawn_app().await;
    let registered = app.register("ada@example.com").await;
    let access = str_of(&registered.body, "access_token").to_owned();
    app.post_as("/v1/users/me/mfa/totp/setup", &access, &json!({}))
        .await
        .assert_problem(403, "EMAIL_NOT_VERIFIED");
    app.mark_verified("ada@example.com").await;

    let setup = app
        .post_as("/v1/users/me/mfa/totp/setup", &access, &json!({}))
        .await;
    assert_eq!(setup.status.as_u16(), 200, "{}", setup.body);
    assert_eq!(setup.header("cache-control"), Some("no-store"));
    let secret = str_of(&setup.body, "secret").to_owned();
    let uri = str_of(&setup.body, "otpauth_uri");
    assert!(
        uri.starts_with("otpauth://totp/gatehouse:ada%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(&format!("secret={secret}")));
    assert!(str_of(&setup.body, "qr_svg").contains("<svg"));

    // MFA is not on until a code confirms the secret.
    assert_eq!(login_with(&app, None).await.status.as_u16(), 200);
    app.post_as(
        "/v1/users/me/mfa/totp/enable",
        &access,
        &json!({ "code": "000000" }),
    )
    .await
    .assert_problem(400, "MFA_INVALID");
    let enabled = app
        .post_as(
            "/v1/users/me/mfa/totp/enable",
            &access,
            &json!({ "code": code_now(&secret) }),
        )
        .await;
    assert_eq!(enabled.status.as_u16(), 200, "{}", enabled.body);
    let backup: Vec<String> = serde_json::from_value(enabled.body["backup_codes"].clone()).unwrap();
    assert_eq!(backup.len(), 10);
    let me = app.get("/v1/users/me", Some(&access)).await;
    assert_eq!(me.body["mfa_enabled"], true);
    app.post_as("/v1/users/me/mfa/totp/setup", &access, &json!({}))
        .await
        .assert_problem(409, "MFA_ALREADY_ENABLED");

    // The password first, then the second factor.
    let wrong_password = app
        .post(
            "/v1/auth/login",
            &json!({ "email": "ada@example.com", "password": "not it at all", "otp": code_now(&secret) }),
        )
        .await;
    wrong_password.assert_problem(401, "INVALID_CREDENTIALS");
    login_with(&app, None)
        .await
        .assert_problem(401, "MFA_REQUIRED");
    // A form that always sends the field sends it blank: that is no code.
    login_with(&app, Some("  "))
        .await
        .assert_problem(401, "MFA_REQUIRED");
    login_with(&app, Some("000000"))
        .await
        .assert_problem(401, "MFA_INVALID");
    let with_backup = login_with(&app, Some(&backup[0])).await;
    assert_eq!(with_backup.status.as_u16(), 200, "{}", with_backup.body);
    assert_eq!(
        claims_of(str_of(&with_backup.body, "access_token"))["amr"],
        json!(["pwd", "otp"])
    );
    login_with(&app, Some(&backup[0]))
        .await
        .assert_problem(401, "MFA_INVALID");

    // Disable takes the password and a code.
    let disable = |body: serde_json::Value| {
        let access = access.clone();
        let app = &app;
        async move {
            let request = app
                .client
                .delete(app.url("/v1/users/me/mfa/totp"))
                .bearer_auth(&access);
            let mut response = request.send_json(&body).await.unwrap();
            let body = response.body().await.unwrap();
            (response.status().as_u16(), body)
        }
    };
    let (status, body) = disable(json!({ "password": "not the password", "otp": backup[1] })).await;
    assert_eq!(status, 403, "{body:?}");
    let (status, body) = disable(json!({ "password": PASSWORD })).await;
    assert_eq!(status, 422, "the code is required: {body:?}");
    let (status, body) = disable(json!({ "password": PASSWORD, "otp": "000000" })).await;
    assert_eq!(status, 401, "a wrong code: {body:?}");
    assert!(String::from_utf8_lossy(&body).contains("MFA_INVALID"));
    assert_eq!(
        disable(json!({ "password": PASSWORD, "otp": backup[1] }))
            .await
            .0,
        204
    );
    let plain = login_with(&app, None).await;
    assert_eq!(plain.status.as_u16(), 200, "{}", plain.body);
    assert_eq!(
        claims_of(str_of(&plain.body, "access_token"))["amr"],
        json!(["pwd"])
    );

    let kinds = app
        .count(
            "SELECT count(*) AS n FROM audit_events WHERE kind IN ('mfa.enabled', 'mfa.disabled')",
        )
        .await;
    assert_eq!(kinds, 2);
}

#[actix_web::test]
async fn an_api_key_cannot_touch_mfa() {
    let app = spawn_app().await;
    app.register("ada@example.com").await;
    let r = app
        .client
        .post(app.url("/v1/users/me/mfa/totp/setup"))
        .insert_header(("x-api-key", "gk_whatever_it_is"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
}
