//! The profile: a name at registration and by `PATCH /v1/users/me`, the
//! user's own metadata, and the last sign-in, on the User object.

use serde_json::json;

use crate::support::*;

#[actix_web::test]
async fn a_name_given_at_registration_comes_back_with_the_user() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/v1/auth/register",
            &json!({ "email": "ada@example.com", "password": PASSWORD, "name": "  Ada Lovelace " }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let user = &r.body["user"];
    assert_eq!(user["name"], "Ada Lovelace", "trimmed");
    assert_eq!(user["metadata"], json!({}));
    assert_eq!(user["password_must_change"], false);
    assert!(
        str_of(user, "last_sign_in_at").ends_with('Z'),
        "signed in at registration"
    );

    let plain = app.register("bob@example.com").await;
    assert_eq!(plain.body["user"]["name"], serde_json::Value::Null);
}

#[actix_web::test]
async fn patch_changes_what_it_names_and_is_audited() {
    let app = spawn_app().await;
    let registered = app.register("ada@example.com").await;
    let token = str_of(&registered.body, "access_token").to_owned();

    let r = app
        .patch(
            "/v1/users/me",
            &token,
            &json!({ "name": "Ada", "metadata": { "plan": "pro" } }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(
        (&r.body["name"], &r.body["metadata"]),
        (&json!("Ada"), &json!({ "plan": "pro" }))
    );

    let r = app
        .patch(
            "/v1/users/me",
            &token,
            &json!({ "metadata": { "seats": 3 } }),
        )
        .await;
    assert_eq!(r.body["name"], "Ada", "an absent field stays");
    assert_eq!(
        r.body["metadata"],
        json!({ "seats": 3 }),
        "metadata is replaced whole"
    );

    let r = app
        .patch("/v1/users/me", &token, &json!({ "name": null }))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(
        r.body["name"],
        serde_json::Value::Null,
        "null clears the name"
    );
    assert_eq!(app.get("/v1/users/me", Some(&token)).await.body, r.body);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE kind = 'user.updated'")
            .await,
        3
    );
}

#[actix_web::test]
async fn bad_profile_values_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let registered = app.register("ada@example.com").await;
    let token = str_of(&registered.body, "access_token").to_owned();
    app.patch("/v1/users/me", &token, &json!({ "name": "Ada" }))
        .await;
    let too_big = "x".repeat(4 * 1024);
    for (body, field, code) in [
        (json!({ "name": "" }), "name", "length"),
        (json!({ "name": "a".repeat(101) }), "name", "length"),
        (json!({ "name": "evil\u{202E}txt" }), "name", "characters"),
        (json!({ "metadata": [1, 2] }), "metadata", "object"),
        (json!({ "metadata": null }), "metadata", "object"),
        (
            json!({ "metadata": { "k": too_big } }),
            "metadata",
            "length",
        ),
        (
            json!({ "metadata": { "k": "a\u{0}b" } }),
            "metadata",
            "characters",
        ),
    ] {
        let r = app.patch("/v1/users/me", &token, &body).await;
        r.assert_problem(422, "VALIDATION_FAILED");
        assert_eq!(r.body["errors"][0]["field"], field, "{body}");
        assert_eq!(r.body["errors"][0]["code"], code, "{body}");
    }
    let me = app.get("/v1/users/me", Some(&token)).await;
    assert_eq!(
        (&me.body["name"], &me.body["metadata"]),
        (&json!("Ada"), &json!({}))
    );
    let r = app
        .post(
            "/v1/auth/register",
            &json!({ "email": "bob@example.com", "password": PASSWORD, "name": " " }),
        )
        .await;
    r.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM users WHERE email = 'bob@example.com'")
            .await,
        0
    );
}

/// The newest session's start is the user's last sign-in (the same
/// instant, written by the statement that starts the session).
const SIGNED_IN_AT_NEWEST_SESSION: &str = "SELECT count(*) AS n FROM users u \
     WHERE u.last_sign_in_at = (SELECT max(s.created_at) FROM sessions s WHERE s.user_id = u.id)";

#[actix_web::test]
async fn a_sign_in_moves_last_sign_in_at_and_a_refresh_does_not() {
    let app = spawn_app().await;
    app.register("ada@example.com").await;
    assert_eq!(app.count(SIGNED_IN_AT_NEWEST_SESSION).await, 1);
    let login = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(login.status.as_u16(), 200, "{}", login.body);
    assert_eq!(app.count("SELECT count(*) AS n FROM sessions").await, 2);
    assert_eq!(
        app.count(SIGNED_IN_AT_NEWEST_SESSION).await,
        1,
        "the login's session"
    );
    let token = str_of(&login.body, "access_token").to_owned();
    let after_login = app.get("/v1/users/me", Some(&token)).await.body["last_sign_in_at"].clone();
    assert!(after_login.is_string(), "{after_login}");
    let refreshed = app
        .post(
            "/v1/auth/refresh",
            &json!({ "refresh_token": str_of(&login.body, "refresh_token") }),
        )
        .await;
    assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.body);
    let token = str_of(&refreshed.body, "access_token");
    assert_eq!(
        app.get("/v1/users/me", Some(token)).await.body["last_sign_in_at"],
        after_login
    );
}
