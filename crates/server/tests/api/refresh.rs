//! Refresh rotation over HTTP, including across two instances.

use std::collections::HashSet;

use crate::support::*;

#[actix_web::test]
async fn refresh_rotates_and_a_retry_within_grace_gets_the_same_successor() {
    let app = spawn_app().await;
    let first = str_of(&app.register("ada@example.com").await.body, "refresh_token").to_owned();
    let a = app.refresh(&first).await;
    assert_eq!(a.status.as_u16(), 200, "{}", a.body);
    assert_eq!(a.header("cache-control"), Some("no-store"));
    let successor = str_of(&a.body, "refresh_token");
    assert_ne!(successor, first);
    let b = app.refresh(&first).await;
    assert_eq!(b.status.as_u16(), 200, "{}", b.body);
    assert_eq!(str_of(&b.body, "refresh_token"), successor);
    assert!(app.refresh(successor).await.status.is_success());
}

#[actix_web::test]
async fn with_zero_grace_reuse_revokes_the_family() {
    let app = spawn_app_with(&[("AUTH_REFRESH_REUSE_GRACE_SECS", "0")]).await;
    let first = str_of(&app.register("ada@example.com").await.body, "refresh_token").to_owned();
    let second = str_of(&app.refresh(&first).await.body, "refresh_token").to_owned();
    app.refresh(&first)
        .await
        .assert_problem(401, "REFRESH_TOKEN_REUSED");
    app.refresh(&second)
        .await
        .assert_problem(401, "REFRESH_TOKEN_INVALID");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE kind = 'refresh.reuse_detected'")
            .await,
        1
    );
}

#[actix_web::test]
async fn unknown_and_malformed_refresh_tokens_are_invalid() {
    let app = spawn_app().await;
    app.refresh(&"A".repeat(86))
        .await
        .assert_problem(401, "REFRESH_TOKEN_INVALID");
    app.refresh("nonsense")
        .await
        .assert_problem(401, "REFRESH_TOKEN_INVALID");
    let r = app.post("/v1/auth/refresh", &serde_json::json!({})).await;
    r.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(r.body["errors"][0]["field"], "refresh_token");
}

#[actix_web::test]
async fn concurrent_refreshes_across_two_instances_never_fork() {
    let first_instance = spawn_app().await;
    let second_instance = spawn_on(first_instance.db.clone(), &[]).await;
    let token = str_of(
        &first_instance.register("ada@example.com").await.body,
        "refresh_token",
    )
    .to_owned();

    let requests = (0..24).map(|i| {
        let app = if i % 2 == 0 {
            &first_instance
        } else {
            &second_instance
        };
        let token = token.clone();
        async move { app.refresh(&token).await }
    });
    let responses = futures_util::future::join_all(requests).await;
    let successors: HashSet<String> = responses
        .iter()
        .map(|r| {
            assert_eq!(r.status.as_u16(), 200, "{}", r.body);
            str_of(&r.body, "refresh_token").to_owned()
        })
        .collect();
    assert_eq!(
        successors.len(),
        1,
        "every request got the identical successor"
    );
    assert_eq!(
        first_instance
            .count("SELECT count(*) AS n FROM refresh_tokens")
            .await,
        2
    );
}
