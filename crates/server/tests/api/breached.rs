//! AUTH_HIBP_URL against a fake range API on a local port: a listed
//! password is refused, an unlisted one accepted, and an API that fails or
//! cannot be reached lets the password through. Only a five-character
//! prefix ever leaves, with padding asked for.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::json;

use crate::support::*;

const LEAKED: &str = "a leaked but long passphrase";

/// SHA-1 of LEAKED, upper-case hex: its prefix and suffix.
fn split(password: &str) -> (String, String) {
    use sha1::{Digest as _, Sha1};
    let hex: String = Sha1::digest(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    (hex[..5].to_owned(), hex[5..].to_owned())
}

/// What one request to the fake API carried: the prefix in its path, and
/// its `Add-Padding` header.
type Asked = (String, Option<String>);

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Asked>>>);

/// The fake API: `status` for every answer; on 200, LEAKED's suffix with
/// a count, a padding line with its count 0, and another suffix.
async fn fake_api(status: u16) -> (String, Seen, actix_web::dev::ServerHandle) {
    let seen = Seen::default();
    let recorded = seen.clone();
    let server = HttpServer::new(move || {
        let recorded = recorded.clone();
        App::new().route(
            "/range/{prefix}",
            web::get().to(move |request: HttpRequest, prefix: web::Path<String>| {
                let recorded = recorded.clone();
                async move {
                    let padding = request
                        .headers()
                        .get("add-padding")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    recorded.0.lock().unwrap().push((prefix.clone(), padding));
                    let (_, leaked_suffix) = split(LEAKED);
                    let (_, padded_suffix) = split("correct horse battery staple");
                    let body = format!(
                        "0018A45C4D1DEF81644B54AB7F969B88D65:3\r\n{leaked_suffix}:42\r\n{padded_suffix}:0\r\n"
                    );
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .body(body)
                }
            }),
        )
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (format!("http://127.0.0.1:{port}"), seen, handle)
}

async fn register(app: &TestApp, email: &str, password: &str) -> Response {
    app.post(
        "/v1/auth/register",
        &json!({ "email": email, "password": password }),
    )
    .await
}

#[actix_web::test]
async fn a_listed_password_is_refused_and_only_a_prefix_leaves() {
    let (url, seen, api) = fake_api(200).await;
    let app = spawn_app_with(&[("AUTH_HIBP_URL", &url)]).await;

    let r = register(&app, "ada@example.com", LEAKED).await;
    r.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(r.body["errors"][0]["field"], "password");
    assert_eq!(r.body["errors"][0]["code"], "breached");
    // The padding line's suffix (count 0) is not a match.
    let r = register(&app, "bob@example.com", "correct horse battery staple").await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);

    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (leaked_prefix, _) = split(LEAKED);
    assert_eq!(seen[0].0, leaked_prefix);
    for (prefix, padding) in &seen {
        assert_eq!(prefix.len(), 5, "only five characters leave: {prefix}");
        assert_eq!(padding.as_deref(), Some("true"));
    }
    api.stop(false).await;
}

#[actix_web::test]
async fn a_failing_or_unreachable_api_lets_the_password_through() {
    let (url, seen, api) = fake_api(503).await;
    let app = spawn_app_with(&[("AUTH_HIBP_URL", &url)]).await;
    let r = register(&app, "ada@example.com", LEAKED).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    assert_eq!(seen.0.lock().unwrap().len(), 1, "it was asked");
    api.stop(false).await;

    // Nothing listens there any more.
    let app = spawn_app_with(&[("AUTH_HIBP_URL", &url)]).await;
    let started = std::time::Instant::now();
    let r = register(&app, "bob@example.com", LEAKED).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[actix_web::test]
async fn a_change_is_checked_too() {
    let (url, _, api) = fake_api(200).await;
    let app = spawn_app_with(&[("AUTH_HIBP_URL", &url)]).await;
    let registered = register(&app, "ada@example.com", PASSWORD).await;
    let access = str_of(&registered.body, "access_token");
    let r = app
        .put(
            "/v1/users/me/password",
            access,
            &json!({ "current_password": PASSWORD, "new_password": LEAKED }),
        )
        .await;
    r.assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(r.body["errors"][0]["code"], "breached");
    api.stop(false).await;
}
