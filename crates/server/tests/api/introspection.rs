//! `POST /v1/auth/introspect` over HTTP.

use serde_json::json;

use crate::support::*;

async fn introspect(app: &TestApp, token: &str) -> serde_json::Value {
    let r = app
        .post("/v1/auth/introspect", &json!({ "token": token }))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.body
}

#[actix_web::test]
async fn a_live_access_token_is_active_until_its_session_ends() {
    let app = spawn_app().await;
    let registered = app.register("ada@example.com").await;
    let access = str_of(&registered.body, "access_token");
    let body = introspect(&app, access).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "access_token");
    assert_eq!(body["sub"], registered.body["user"]["id"]);
    assert_eq!(body["role"], "user");
    assert!(body["sid"].is_string() && body["exp"].is_i64());

    app.post(
        "/v1/auth/logout",
        &json!({ "refresh_token": str_of(&registered.body, "refresh_token") }),
    )
    .await;
    assert_eq!(introspect(&app, access).await, json!({ "active": false }));
}

#[actix_web::test]
async fn bad_tokens_and_disabled_users_are_inactive() {
    let app = spawn_app().await;
    let registered = app.register("ada@example.com").await;
    let access = str_of(&registered.body, "access_token");
    for token in ["", "not a jwt", &format!("{access}x")] {
        assert_eq!(
            introspect(&app, token).await,
            json!({ "active": false }),
            "{token:?}"
        );
    }
    app.sql("UPDATE users SET disabled_at = created_at").await;
    assert_eq!(introspect(&app, access).await, json!({ "active": false }));
    app.post("/v1/auth/introspect", &json!({}))
        .await
        .assert_problem(422, "VALIDATION_FAILED");
}
