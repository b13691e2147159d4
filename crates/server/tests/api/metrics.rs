//! `/metrics`: the counters move with the requests that should move them,
//! and labels carry route patterns, never raw paths.

use std::time::{Duration, Instant};

use crate::support::*;

/// The value of one sample, `name{labels}` exactly as exported; 0 if absent
/// (a counter that never moved is not exported yet).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().unwrap())
        })
        .unwrap_or(0.0)
}

async fn scrape(app: &TestApp) -> String {
    let mut response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    String::from_utf8(response.body().await.unwrap().to_vec()).unwrap()
}

#[actix_web::test]
async fn counters_move_with_the_requests_that_should_move_them() {
    let app = spawn_app_with(&[("AUTH_REFRESH_REUSE_GRACE_SECS", "0")]).await;
    let before = scrape(&app).await;

    let registered = app.register("ada@example.com").await;
    assert_eq!(registered.status.as_u16(), 201);
    let login = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(login.status.as_u16(), 200);
    app.login("ada@example.com", "not the password at all")
        .await
        .assert_problem(401, "INVALID_CREDENTIALS");
    let first = str_of(&login.body, "refresh_token");
    assert_eq!(app.refresh(first).await.status.as_u16(), 200);
    app.refresh(first)
        .await
        .assert_problem(401, "REFRESH_TOKEN_REUSED");
    app.refresh("not-a-token-we-ever-issued")
        .await
        .assert_problem(401, "REFRESH_TOKEN_INVALID");
    let access = str_of(&registered.body, "access_token");
    let session = uuid::Uuid::now_v7();
    app.delete(&format!("/v1/users/me/sessions/{session}"), access)
        .await;
    app.get("/no/such/page", None).await;

    let after = scrape(&app).await;
    let moved = |series: &str| sample(&after, series) - sample(&before, series);
    for (series, delta) in [
        (
            r#"gatehouse_http_requests_total{method="POST",route="/v1/auth/register",status="201"}"#,
            1.0,
        ),
        (
            r#"gatehouse_http_requests_total{method="POST",route="/v1/auth/login",status="200"}"#,
            1.0,
        ),
        (
            r#"gatehouse_http_requests_total{method="POST",route="/v1/auth/login",status="401"}"#,
            1.0,
        ),
        (
            r#"gatehouse_http_requests_total{method="POST",route="/v1/auth/refresh",status="401"}"#,
            2.0,
        ),
        (
            r#"gatehouse_http_requests_total{method="GET",route="unmatched",status="404"}"#,
            1.0,
        ),
        (
            r#"gatehouse_http_request_duration_seconds_count{method="POST",route="/v1/auth/login",status="200"}"#,
            1.0,
        ),
        (r#"gatehouse_logins_total{outcome="success"}"#, 1.0),
        (
            r#"gatehouse_logins_total{outcome="invalid_credentials"}"#,
            1.0,
        ),
        (r#"gatehouse_refreshes_total{outcome="success"}"#, 1.0),
        (
            r#"gatehouse_refreshes_total{outcome="reuse_detected"}"#,
            1.0,
        ),
        (r#"gatehouse_refreshes_total{outcome="invalid"}"#, 1.0),
        ("gatehouse_refresh_reuse_detected_total", 1.0),
    ] {
        assert_eq!(moved(series), delta, "{series}\n{after}");
    }
    // The session route is labelled by its pattern; no id reaches a label.
    assert!(
        after.contains(r#"route="/v1/users/me/sessions/{id}""#),
        "{after}"
    );
    assert!(!after.contains(&session.to_string()));
    assert!(!after.contains("/no/such/page"));

    // Sampled at scrape: nothing hashing now, connections open.
    assert_eq!(sample(&after, "gatehouse_password_hashes_in_flight"), 0.0);
    assert_eq!(sample(&after, "gatehouse_password_hashes_waiting"), 0.0);
    assert!(
        sample(&after, "gatehouse_db_pool_connections") >= 1.0,
        "{after}"
    );
    assert!(after.contains("gatehouse_db_pool_idle_connections "));

    // The verification mail of the registration, once the sender ran.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = scrape(&app).await;
        if sample(&now, "gatehouse_mails_sent_total") >= 1.0 {
            assert_eq!(sample(&now, "gatehouse_mails_failed_total"), 0.0);
            break;
        }
        assert!(Instant::now() < deadline, "no mail counted: {now}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn metrics_add_up_every_worker() {
    let app = spawn_app().await;
    let before = scrape(&app).await;
    let series = r#"gatehouse_http_requests_total{method="GET",route="/health/live",status="200"}"#;
    // Many requests on many connections land on every worker; the one
    // registry counts them all.
    let requests = (0..40).map(|_| {
        let client = awc::Client::default();
        let url = app.url("/health/live");
        async move { client.get(url).send().await.unwrap().status().as_u16() }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 200));
    let after = scrape(&app).await;
    assert_eq!(sample(&after, series) - sample(&before, series), 40.0);
}
