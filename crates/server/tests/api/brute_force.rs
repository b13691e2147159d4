//! Brute-force protection over HTTP: per account, and per client IP.

use serde_json::json;

use crate::support::*;

#[actix_web::test]
async fn repeated_failures_answer_429_with_retry_after_even_after_a_restart() {
    let app = spawn_app().await;
    app.register("ada@example.com").await;
    for _ in 0..5 {
        app.login("ada@example.com", "wrong password entirely")
            .await
            .assert_problem(401, "INVALID_CREDENTIALS");
    }
    let refused = app.login("ada@example.com", PASSWORD).await;
    refused.assert_problem(429, "TOO_MANY_ATTEMPTS");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");

    // The count is in the database: another instance (or a restart) agrees.
    let restarted = spawn_on(app.db.clone(), &[]).await;
    restarted
        .login("Ada@Example.com", PASSWORD)
        .await
        .assert_problem(429, "TOO_MANY_ATTEMPTS");
}

#[actix_web::test]
async fn an_unknown_email_is_refused_exactly_like_a_known_one() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.login("nobody@example.com", "wrong password entirely")
            .await
            .assert_problem(401, "INVALID_CREDENTIALS");
    }
    let refused = app
        .login("nobody@example.com", "wrong password entirely")
        .await;
    refused.assert_problem(429, "TOO_MANY_ATTEMPTS");
    assert!(refused.header("retry-after").is_some());
    assert_eq!(
        app.count("SELECT count(*) AS n FROM login_throttle WHERE key LIKE '%nobody%'")
            .await,
        0,
        "no address is stored"
    );
}

fn login_body() -> serde_json::Value {
    json!({ "email": "someone@example.com", "password": "any password at all" })
}

#[actix_web::test]
async fn auth_requests_beyond_the_per_ip_budget_get_429_rate_limited() {
    let app = spawn_app_with(&[("AUTH_RATE_LIMIT_PER_MIN", "3")]).await;
    for _ in 0..3 {
        app.post("/v1/auth/login", &login_body())
            .await
            .assert_problem(401, "INVALID_CREDENTIALS");
    }
    let refused = app
        .post("/v1/auth/refresh", &json!({ "refresh_token": "x" }))
        .await;
    refused.assert_problem(429, "RATE_LIMITED");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(
        (1..=20).contains(&retry),
        "one token back every 20 s: {retry}"
    );
    // Reads outside /v1/auth/* are not limited.
    assert_eq!(app.get("/health/live", None).await.status.as_u16(), 200);
    app.get("/v1/users/me", None)
        .await
        .assert_problem(401, "AUTH_TOKEN_MISSING");
}

/// Behind a trusted proxy, each forwarded client has its own bucket and
/// is what sessions record.
#[actix_web::test]
async fn a_trusted_proxy_forwards_the_client_ip() {
    let app = spawn_app_with(&[
        ("AUTH_RATE_LIMIT_PER_MIN", "2"),
        ("AUTH_TRUSTED_PROXIES", "127.0.0.0/8"),
    ])
    .await;
    let body = json!({ "email": "ada@example.com", "password": PASSWORD });
    let registered = app
        .post_from("/v1/auth/register", "198.51.100.9, 203.0.113.1", &body)
        .await;
    assert_eq!(registered.status.as_u16(), 201);
    let access = str_of(&registered.body, "access_token");
    let sessions = app.get("/v1/users/me/sessions", Some(access)).await;
    assert_eq!(
        sessions.body["items"][0]["ip"], "203.0.113.1",
        "the right-most untrusted hop, not what the client wrote first"
    );
    app.post_from("/v1/auth/login", "203.0.113.1", &login_body())
        .await
        .assert_problem(401, "INVALID_CREDENTIALS");
    app.post_from("/v1/auth/login", "203.0.113.1", &login_body())
        .await
        .assert_problem(429, "RATE_LIMITED");
    app.post_from("/v1/auth/login", "203.0.113.2", &login_body())
        .await
        .assert_problem(401, "INVALID_CREDENTIALS");
}

/// Without trusted proxies, `X-Forwarded-For` is any client's to forge:
/// it changes neither the bucket nor what is recorded.
#[actix_web::test]
async fn an_untrusted_forwarded_for_is_ignored() {
    let app = spawn_app_with(&[("AUTH_RATE_LIMIT_PER_MIN", "2")]).await;
    let body = json!({ "email": "ada@example.com", "password": PASSWORD });
    let registered = app
        .post_from("/v1/auth/register", "203.0.113.1", &body)
        .await;
    let access = str_of(&registered.body, "access_token");
    let sessions = app.get("/v1/users/me/sessions", Some(access)).await;
    assert_eq!(sessions.body["items"][0]["ip"], "127.0.0.1");
    app.post_from("/v1/auth/login", "203.0.113.2", &login_body())
        .await;
    app.post_from("/v1/auth/login", "203.0.113.3", &login_body())
        .await
        .assert_problem(429, "RATE_LIMITED");
}

/// The limit follows the path as the router decodes it: a spelling the
/// router takes for `/v1/auth/login` is the same bucket, and so is every
/// address of one IPv6 /64 (unit-tested in http-actix). Writes to the
/// caller's own account count too.
#[actix_web::test]
async fn the_limit_holds_however_the_path_is_spelled() {
    let app = spawn_app_with(&[("AUTH_RATE_LIMIT_PER_MIN", "4")]).await;
    for path in ["/v1/%61uth/login", "/v1/auth/log%69n", "/v1/%61%75th/login"] {
        app.post(path, &login_body())
            .await
            .assert_problem(401, "INVALID_CREDENTIALS");
    }
    // A write under /v1/users/me spends from the same bucket, even
    // unauthenticated; a read does not.
    app.put("/v1/users/me/password", "not-a-token", &json!({}))
        .await
        .assert_problem(401, "AUTH_TOKEN_INVALID");
    app.get("/v1/users/me", None)
        .await
        .assert_problem(401, "AUTH_TOKEN_MISSING");
    app.post("/v1/%61uth/login", &login_body())
        .await
        .assert_problem(429, "RATE_LIMITED");
    app.put("/v1/users/me/password", "not-a-token", &json!({}))
        .await
        .assert_problem(429, "RATE_LIMITED");
}

/// Attempts are counted when they start: of many wrong passwords sent at
/// once for one account, only as many reach the hasher as the lockout
/// allows; the rest are refused before any hashing.
#[actix_web::test]
async fn concurrent_guesses_cannot_outrun_the_lockout() {
    let app = spawn_app_with(&[("AUTH_LOGIN_MAX_FAILURES", "5")]).await;
    app.register("ada@example.com").await;
    let answers = futures_util::future::join_all(
        (0..40).map(|_| app.login("ada@example.com", "wrong password entirely")),
    )
    .await;
    let checked = answers.iter().filter(|r| r.status.as_u16() == 401).count();
    let refused = answers.iter().filter(|r| r.status.as_u16() == 429).count();
    assert_eq!(
        (checked, refused),
        (5, 35),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
}

/// The count is per account and network: a flood from one network locks
/// that network out of the account, not its owner elsewhere; the
/// account-wide count locks it for everyone.
#[actix_web::test]
async fn a_flood_from_one_network_locks_only_that_network() {
    let app = spawn_app_with(&[
        ("AUTH_TRUSTED_PROXIES", "127.0.0.0/8"),
        ("AUTH_LOGIN_MAX_FAILURES", "3"),
        ("AUTH_LOGIN_MAX_FAILURES_GLOBAL", "5"),
    ])
    .await;
    app.register("ada@example.com").await;
    let wrong = json!({ "email": "ada@example.com", "password": "wrong password entirely" });
    let right = json!({ "email": "ada@example.com", "password": PASSWORD });
    for _ in 0..3 {
        app.post_from("/v1/auth/login", "2001:db8:1:2::1", &wrong)
            .await
            .assert_problem(401, "INVALID_CREDENTIALS");
    }
    // Another address of the same /64 is the same network.
    app.post_from("/v1/auth/login", "2001:db8:1:2::99", &right)
        .await
        .assert_problem(429, "TOO_MANY_ATTEMPTS");
    let owner = app
        .post_from("/v1/auth/login", "198.51.100.7", &right)
        .await;
    assert_eq!(owner.status.as_u16(), 200, "{}", owner.body);
    // Failures across networks add up to the account-wide limit.
    for network in [
        "203.0.113.1",
        "203.0.113.2",
        "203.0.113.3",
        "203.0.113.4",
        "203.0.113.5",
    ] {
        app.post_from("/v1/auth/login", network, &wrong)
            .await
            .assert_problem(401, "INVALID_CREDENTIALS");
    }
    app.post_from("/v1/auth/login", "198.51.100.7", &right)
        .await
        .assert_problem(429, "TOO_MANY_ATTEMPTS");
}
