//! API keys end to end.

use serde_json::json;

use crate::support::*;

#[actix_web::test]
async fn a_key_reads_me_and_introspects_but_may_do_nothing_else() {
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let access = str_of(&ada.body, "access_token");
    let created = app
        .post_as(
            "/v1/users/me/api-keys",
            access,
            &json!({ "name": "nightly export", "expires_in_days": 30 }),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let key = str_of(&created.body, "key").to_owned();
    assert!(key.starts_with("gk_") && key.len() == 46);
    assert_eq!(created.body["prefix"], key[..12]);

    let listed = app.get("/v1/users/me/api-keys", Some(access)).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert!(
        !listed.body.to_string().contains(&key),
        "the key is shown once"
    );

    let me = app.get_with_header("/v1/users/me", "x-api-key", &key).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.body);
    assert_eq!(me.body["email"], "ada@example.com");
    for path in [
        "/v1/users/me/sessions",
        "/v1/users/me/api-keys",
        "/v1/admin/users",
    ] {
        app.get_with_header(path, "x-api-key", &key)
            .await
            .assert_problem(403, "API_KEY_NOT_ALLOWED");
    }
    let introspected = app
        .post("/v1/auth/introspect", &json!({ "token": key }))
        .await;
    assert_eq!(introspected.body["active"], true);
    assert_eq!(introspected.body["token_type"], "api_key");
    assert_eq!(introspected.body["key_id"], created.body["id"]);
    assert!(introspected.body["exp"].is_i64());

    let id = str_of(&created.body, "id");
    let bob = app.register("bob@example.com").await;
    app.delete(
        &format!("/v1/users/me/api-keys/{id}"),
        str_of(&bob.body, "access_token"),
    )
    .await
    .assert_problem(404, "NOT_FOUND");
    let r = app
        .delete(&format!("/v1/users/me/api-keys/{id}"), access)
        .await;
    assert_eq!(r.status.as_u16(), 204);
    app.get_with_header("/v1/users/me", "x-api-key", &key)
        .await
        .assert_problem(401, "API_KEY_INVALID");
    assert_eq!(
        app.post("/v1/auth/introspect", &json!({ "token": key }))
            .await
            .body,
        json!({ "active": false })
    );
    assert!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE kind IN ('api_key.created', 'api_key.revoked')")
            .await
            == 2
    );
}

#[actix_web::test]
async fn bad_requests_and_a_disabled_owner_are_refused() {
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let access = str_of(&ada.body, "access_token");
    for body in [
        json!({}),
        json!({ "name": "" }),
        json!({ "name": "x".repeat(101) }),
        json!({ "name": "ok", "expires_in_days": 0 }),
        json!({ "name": "ok", "expires_in_days": 366 }),
    ] {
        app.post_as("/v1/users/me/api-keys", access, &body)
            .await
            .assert_problem(422, "VALIDATION_FAILED");
    }
    let created = app
        .post_as("/v1/users/me/api-keys", access, &json!({ "name": "ci" }))
        .await;
    let key = str_of(&created.body, "key").to_owned();
    app.sql("UPDATE users SET disabled_at = created_at").await;
    app.get_with_header("/v1/users/me", "x-api-key", &key)
        .await
        .assert_problem(403, "ACCOUNT_DISABLED");
    app.sql("UPDATE users SET disabled_at = NULL").await;
    assert_eq!(
        app.get_with_header("/v1/users/me", "x-api-key", &key)
            .await
            .status
            .as_u16(),
        200,
        "the key works again once the owner is enabled"
    );
    app.get_with_header("/v1/users/me", "x-api-key", "gk_not-a-real-key")
        .await
        .assert_problem(401, "API_KEY_INVALID");
}
