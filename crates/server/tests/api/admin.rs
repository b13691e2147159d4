//! The admin API over HTTP.

use serde_json::json;

use crate::support::*;

/// Registers `email` and makes it an admin in the database; answers its
/// access token.
pub async fn admin(app: &TestApp, email: &str) -> String {
    let r = app.register(email).await;
    app.sql(&format!(
        "UPDATE users SET role = 'admin' WHERE email = '{email}'"
    ))
    .await;
    str_of(&r.body, "access_token").to_owned()
}

#[actix_web::test]
async fn admins_page_through_users_and_others_are_forbidden() {
    let app = spawn_app().await;
    let token = admin(&app, "root@example.com").await;
    for n in 0..3 {
        app.register(&format!("user{n}@example.com")).await;
    }
    let first = app.get("/v1/admin/users?limit=3", Some(&token)).await;
    assert_eq!(first.status.as_u16(), 200, "{}", first.body);
    assert_eq!(first.body["items"].as_array().unwrap().len(), 3);
    let cursor = str_of(&first.body, "next_cursor");
    let second = app
        .get(
            &format!("/v1/admin/users?limit=3&cursor={cursor}"),
            Some(&token),
        )
        .await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert!(second.body["next_cursor"].is_null());
    for bad in ["limit=0", "limit=101", "limit=x", "cursor=nonsense"] {
        app.get(&format!("/v1/admin/users?{bad}"), Some(&token))
            .await
            .assert_problem(422, "VALIDATION_FAILED");
    }

    let user = app.login("user0@example.com", PASSWORD).await;
    app.get("/v1/admin/users", Some(str_of(&user.body, "access_token")))
        .await
        .assert_problem(403, "FORBIDDEN");
    app.get("/v1/admin/users", None)
        .await
        .assert_problem(401, "AUTH_TOKEN_MISSING");
}

#[actix_web::test]
async fn disabling_a_user_ends_its_sessions_and_the_last_admin_stays() {
    let app = spawn_app().await;
    let token = admin(&app, "root@example.com").await;
    let bob = app.register("bob@example.com").await;
    let bob_id = bob.body["user"]["id"].as_str().unwrap().to_owned();
    let bob_access = str_of(&bob.body, "access_token");

    let r = app
        .patch(
            &format!("/v1/admin/users/{bob_id}"),
            &token,
            &json!({ "disabled": true }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["disabled"], true);
    app.get("/v1/users/me", Some(bob_access))
        .await
        .assert_problem(403, "ACCOUNT_DISABLED");
    app.refresh(str_of(&bob.body, "refresh_token"))
        .await
        .assert_problem(401, "REFRESH_TOKEN_INVALID");

    let me = app.get("/v1/users/me", Some(&token)).await;
    let my_id = str_of(&me.body, "id").to_owned();
    app.patch(
        &format!("/v1/admin/users/{my_id}"),
        &token,
        &json!({ "role": "user" }),
    )
    .await
    .assert_problem(409, "LAST_ADMIN");
    app.patch(
        &format!("/v1/admin/users/{my_id}"),
        &token,
        &json!({ "role": "root" }),
    )
    .await
    .assert_problem(422, "VALIDATION_FAILED");
    app.patch(
        "/v1/admin/users/not-a-uuid",
        &token,
        &json!({ "disabled": true }),
    )
    .await
    .assert_problem(404, "NOT_FOUND");
    let r = app
        .delete(&format!("/v1/admin/users/{bob_id}/sessions"), &token)
        .await;
    assert_eq!(r.status.as_u16(), 204);
    app.get(
        &format!("/v1/admin/users/{}", uuid::Uuid::now_v7()),
        Some(&token),
    )
    .await
    .assert_problem(404, "NOT_FOUND");
}

#[actix_web::test]
async fn the_audit_trail_is_queried_newest_first() {
    let app = spawn_app().await;
    let token = admin(&app, "root@example.com").await;
    app.login("root@example.com", "a wrong password entirely")
        .await;
    let r = app
        .get("/v1/admin/audit-events?kind=login.failed", Some(&token))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "login.failed");
    assert!(items[0]["detail"]["email_digest"].is_string());
    assert!(!items[0].to_string().contains("root@example.com"));
    let all = app
        .get("/v1/admin/audit-events?limit=1", Some(&token))
        .await;
    assert_eq!(all.body["items"][0]["kind"], "login.failed", "newest first");
    let cursor = str_of(&all.body, "next_cursor");
    let older = app
        .get(
            &format!("/v1/admin/audit-events?limit=1&cursor={cursor}"),
            Some(&token),
        )
        .await;
    assert_eq!(older.body["items"][0]["kind"], "user.registered");
    app.get("/v1/admin/audit-events?kind=nonsense", Some(&token))
        .await
        .assert_problem(422, "VALIDATION_FAILED");
}

/// `AUTH_ADMIN_EMAIL`/`AUTH_ADMIN_PASSWORD` make the admin at start, once:
/// a restart with another password changes nothing.
#[actix_web::test]
async fn the_configured_admin_is_ensured_at_start_and_never_reset() {
    let app = spawn_app_with(&[
        ("AUTH_ADMIN_EMAIL", "ops@example.com"),
        ("AUTH_ADMIN_PASSWORD", PASSWORD),
    ])
    .await;
    let login = app.login("ops@example.com", PASSWORD).await;
    assert_eq!(login.status.as_u16(), 200, "{}", login.body);
    let token = str_of(&login.body, "access_token");
    assert_eq!(
        app.get("/v1/admin/users", Some(token))
            .await
            .status
            .as_u16(),
        200
    );

    let restarted = spawn_on(
        app.db.clone(),
        &[
            ("AUTH_ADMIN_EMAIL", "ops@example.com"),
            ("AUTH_ADMIN_PASSWORD", "a different passphrase now"),
        ],
    )
    .await;
    assert_eq!(
        restarted
            .login("ops@example.com", PASSWORD)
            .await
            .status
            .as_u16(),
        200
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM users WHERE role = 'admin'")
            .await,
        1
    );
}

/// An account registered with `AUTH_ADMIN_EMAIL`'s address before it was
/// set is promoted only with its own password; otherwise it stays a user
/// and the service still starts.
#[actix_web::test]
async fn the_configured_admin_never_promotes_a_stranger() {
    let app = spawn_app().await;
    app.register("ops@example.com").await;
    let stranger = spawn_on(
        app.db.clone(),
        &[
            ("AUTH_ADMIN_EMAIL", "ops@example.com"),
            ("AUTH_ADMIN_PASSWORD", "the operator's own passphrase"),
        ],
    )
    .await;
    assert_eq!(role_of(&stranger, "ops@example.com").await, "user");
    let owner = spawn_on(
        app.db.clone(),
        &[
            ("AUTH_ADMIN_EMAIL", "ops@example.com"),
            ("AUTH_ADMIN_PASSWORD", PASSWORD),
        ],
    )
    .await;
    assert_eq!(role_of(&owner, "ops@example.com").await, "admin");
}

async fn role_of(app: &TestApp, email: &str) -> serde_json::Value {
    let login = app.login(email, PASSWORD).await;
    let token = str_of(&login.body, "access_token");
    app.get("/v1/users/me", Some(token)).await.body["role"].clone()
}

/// Audit events carry the server's id of the request that wrote them, and
/// the client's `X-Request-Id` (echoed back) beside it when it sent one.
#[actix_web::test]
async fn audit_events_carry_the_request_id() {
    let app = spawn_app().await;
    let token = admin(&app, "root@example.com").await;
    let failed = app
        .client
        .post(app.url("/v1/auth/login"))
        .insert_header(("x-request-id", "trace-42.a_b"))
        .send_json(&json!({ "email": "root@example.com", "password": "wrong password here" }))
        .await
        .unwrap();
    assert_eq!(
        failed
            .headers()
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap(),
        "trace-42.a_b"
    );
    let events = app
        .get("/v1/admin/audit-events?kind=login.failed", Some(&token))
        .await;
    // The record's id is the server's own (a client may repeat any id);
    // the client's is kept beside it.
    let detail = &events.body["items"][0]["detail"];
    assert_eq!(detail["client_request_id"], "trace-42.a_b");
    let own = detail["request_id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(own).is_ok(), "{own}");

    let forged = app
        .client
        .post(app.url("/v1/auth/login"))
        .insert_header(("x-request-id", "has spaces\tand tabs"))
        .send_json(&json!({ "email": "root@example.com", "password": "wrong password here" }))
        .await
        .unwrap();
    let echoed = forged
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        uuid::Uuid::parse_str(&echoed).is_ok(),
        "a malformed id is replaced: {echoed}"
    );
    let events = app
        .get(
            "/v1/admin/audit-events?kind=login.failed&limit=1",
            Some(&token),
        )
        .await;
    assert_eq!(
        events.body["items"][0]["detail"]["request_id"],
        echoed.as_str()
    );
}

#[actix_web::test]
async fn an_admin_sees_a_users_sessions_and_sends_it_a_reset_link() {
    let app = spawn_app().await;
    let token = admin(&app, "root@example.com").await;
    let bob = app.register("bob@example.com").await;
    let bob_id = str_of(&bob.body["user"], "id").to_owned();
    app.login("bob@example.com", PASSWORD).await;

    let r = app
        .get(&format!("/v1/admin/users/{bob_id}/sessions"), Some(&token))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "registration and login");
    assert!(items.iter().all(|s| s["current"] == false), "{items:?}");

    let resets = "SELECT count(*) AS n FROM account_tokens WHERE purpose = 'password_reset'";
    let r = app
        .post_as(
            &format!("/v1/admin/users/{bob_id}/password-reset"),
            &token,
            &json!({}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(app.count(resets).await, 1, "a link for bob");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM mail_outbox WHERE subject = 'Reset your password' AND recipient = 'bob@example.com'")
            .await,
        1
    );

    let nobody = uuid::Uuid::now_v7();
    app.get(&format!("/v1/admin/users/{nobody}/sessions"), Some(&token))
        .await
        .assert_problem(404, "NOT_FOUND");
    app.post_as(
        &format!("/v1/admin/users/{nobody}/password-reset"),
        &token,
        &json!({}),
    )
    .await
    .assert_problem(404, "NOT_FOUND");
    let bob_token = str_of(&bob.body, "access_token");
    app.get(
        &format!("/v1/admin/users/{bob_id}/sessions"),
        Some(bob_token),
    )
    .await
    .assert_problem(403, "FORBIDDEN");
    app.post_as(
        &format!("/v1/admin/users/{bob_id}/password-reset"),
        bob_token,
        &json!({}),
    )
    .await
    .assert_problem(403, "FORBIDDEN");
    assert_eq!(app.count(resets).await, 1, "refusals write nothing");
}

#[actix_web::test]
async fn admins_search_users_by_a_part_of_the_email_in_any_case() {
    let app = spawn_app().await;
    let token = admin(&app, "root@example.com").await;
    app.register("ann.smith@example.com").await;
    app.register("bob@example.org").await;
    let r = app
        .get("/v1/admin/users?email=%20SMITH%20", Some(&token))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["email"], "ann.smith@example.com");
    let r = app
        .get("/v1/admin/users?email=example&limit=2", Some(&token))
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    let cursor = str_of(&r.body, "next_cursor");
    let rest = app
        .get(
            &format!("/v1/admin/users?email=example&limit=2&cursor={cursor}"),
            Some(&token),
        )
        .await;
    assert_eq!(
        rest.body["items"].as_array().unwrap().len(),
        1,
        "three match in all"
    );
    let long = "a".repeat(255);
    for bad in ["email=", "email=%20%20", &format!("email={long}")] {
        let r = app
            .get(&format!("/v1/admin/users?{bad}"), Some(&token))
            .await;
        r.assert_problem(422, "VALIDATION_FAILED");
        assert_eq!(r.body["errors"][0]["field"], "email");
    }
}
