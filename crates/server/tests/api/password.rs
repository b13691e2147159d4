//! `PUT /v1/users/me/password` over HTTP.

use serde_json::json;

use crate::support::*;

const NEW: &str = "a brand new passphrase 2031";

#[actix_web::test]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    let app = spawn_app().await;
    let mine = app.register("ada@example.com").await;
    let other = app.login("ada@example.com", PASSWORD).await;
    let access = str_of(&mine.body, "access_token");
    let r = app
        .put(
            "/v1/users/me/password",
            access,
            &json!({ "current_password": PASSWORD, "new_password": NEW }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    app.login("ada@example.com", PASSWORD)
        .await
        .assert_problem(401, "INVALID_CREDENTIALS");
    assert_eq!(app.login("ada@example.com", NEW).await.status.as_u16(), 200);
    assert_eq!(
        app.get("/v1/users/me", Some(access)).await.status.as_u16(),
        200
    );
    app.get("/v1/users/me", Some(str_of(&other.body, "access_token")))
        .await
        .assert_problem(401, "AUTH_TOKEN_REVOKED");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE kind = 'password.changed'")
            .await,
        1
    );
}

#[actix_web::test]
async fn a_wrong_current_password_is_forbidden_and_a_weak_new_one_unprocessable() {
    let app = spawn_app().await;
    let mine = app.register("ada@example.com").await;
    let access = str_of(&mine.body, "access_token");
    app.put(
        "/v1/users/me/password",
        access,
        &json!({ "current_password": "not it at all", "new_password": NEW }),
    )
    .await
    .assert_problem(403, "INVALID_CREDENTIALS");
    let r = app
        .put(
            "/v1/users/me/password",
            access,
            &json!({ "current_password": PASSWORD, "new_password": "ada@example.com" }),
        )
        .await;
    r.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(r.body["errors"][0]["field"], "new_password");
    assert_eq!(r.body["errors"][0]["code"], "equals_email");
    let r = app.put("/v1/users/me/password", access, &json!({})).await;
    r.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 2);
    // Nothing changed.
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status.as_u16(),
        200
    );
}
