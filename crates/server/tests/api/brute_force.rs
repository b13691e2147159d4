//! Brute-force protection over HTTP.

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
