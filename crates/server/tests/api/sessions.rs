//! `/v1/users/me/sessions` over HTTP.

use crate::support::*;

#[actix_web::test]
async fn sessions_are_listed_with_the_current_one_marked() {
    let app = spawn_app().await;
    app.register("ada@example.com").await;
    let login = app.login("ada@example.com", PASSWORD).await;
    let access = str_of(&login.body, "access_token");
    let r = app.get("/v1/users/me/sessions", Some(access)).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let current: Vec<_> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], crate::me::claims_of(access)["sid"]);
    for field in ["created_at", "last_used_at", "expires_at"] {
        assert!(
            current[0][field].as_str().unwrap().ends_with('Z'),
            "{field}"
        );
    }
    assert!(current[0]["ip"].as_str().unwrap().starts_with("127."));
    assert!(current[0].get("user_agent").is_some());
}

#[actix_web::test]
async fn ending_a_session_stops_its_tokens_at_once() {
    let app = spawn_app().await;
    let first = app.register("ada@example.com").await;
    let second = app.login("ada@example.com", PASSWORD).await;
    let sid = crate::me::claims_of(str_of(&second.body, "access_token"))["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .delete(
            &format!("/v1/users/me/sessions/{sid}"),
            str_of(&first.body, "access_token"),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    app.refresh(str_of(&second.body, "refresh_token"))
        .await
        .assert_problem(401, "REFRESH_TOKEN_INVALID");
    app.get("/v1/users/me", Some(str_of(&second.body, "access_token")))
        .await
        .assert_problem(401, "AUTH_TOKEN_REVOKED");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE kind = 'session.revoked'")
            .await,
        1
    );
}

#[actix_web::test]
async fn another_users_session_and_a_malformed_id_are_not_found() {
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let bob_sid = crate::me::claims_of(str_of(&bob.body, "access_token"))["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let ada_access = str_of(&ada.body, "access_token");
    for path in [
        format!("/v1/users/me/sessions/{bob_sid}"),
        "/v1/users/me/sessions/not-a-uuid".to_owned(),
        format!("/v1/users/me/sessions/{}", uuid::Uuid::now_v7()),
    ] {
        app.delete(&path, ada_access)
            .await
            .assert_problem(404, "NOT_FOUND");
    }
    // Bob's session was not touched.
    let r = app.refresh(str_of(&bob.body, "refresh_token")).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
}

#[actix_web::test]
async fn ending_every_session_signs_out_everywhere() {
    let app = spawn_app().await;
    let first = app.register("ada@example.com").await;
    let second = app.login("ada@example.com", PASSWORD).await;
    let access = str_of(&first.body, "access_token");
    let r = app.delete("/v1/users/me/sessions", access).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    for tokens in [&first, &second] {
        app.refresh(str_of(&tokens.body, "refresh_token"))
            .await
            .assert_problem(401, "REFRESH_TOKEN_INVALID");
    }
    app.get("/v1/users/me/sessions", Some(access))
        .await
        .assert_problem(401, "AUTH_TOKEN_REVOKED");
    // The caller is checked first, even for an id that names nothing.
    app.delete("/v1/users/me/sessions/not-a-uuid", access)
        .await
        .assert_problem(401, "AUTH_TOKEN_REVOKED");
}

#[actix_web::test]
async fn sessions_need_a_bearer_token() {
    let app = spawn_app().await;
    let r = app.get("/v1/users/me/sessions", None).await;
    r.assert_problem(401, "AUTH_TOKEN_MISSING");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
}
