//! Mail over a real SMTP conversation with a sink the test starts: reset
//! and verification links, notices, and a server that is down or refuses.

use std::time::Duration;

use gatehouse_testkit::{ReceivedMail, SmtpSink};
use serde_json::json;

use crate::support::*;

const WAIT: Duration = Duration::from_secs(20);
const NEW: &str = "a brand new passphrase 2031";

async fn app_with_sink(extra: &[(&str, &str)]) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let mut vars = vec![("AUTH_SMTP_URL", url.as_str())];
    vars.extend_from_slice(extra);
    (spawn_app_with(&vars).await, sink)
}

/// The newest mail whose subject contains `about`, once it has arrived.
async fn mail_about(sink: &SmtpSink, about: &str) -> ReceivedMail {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let found = sink
            .received()
            .into_iter()
            .rev()
            .find(|m| m.header("subject").is_some_and(|s| s.contains(about)));
        if let Some(mail) = found {
            return mail;
        }
        let n = sink.received().len();
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(!left.is_zero(), "no mail about {about:?}");
        sink.wait_for(n + 1, left).await;
    }
}

#[actix_web::test]
async fn a_reset_link_arrives_by_smtp_and_sets_a_new_password() {
    let (app, sink) = app_with_sink(&[("AUTH_PUBLIC_URL", "https://app.example.com/")]).await;
    let registered = app.register("ada@example.com").await;
    let r = app
        .post(
            "/v1/auth/password/forgot",
            &json!({ "email": "Ada@Example.com" }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);

    let mail = mail_about(&sink, "Reset your password").await;
    assert_eq!(mail.to, vec!["ada@example.com".to_owned()]);
    assert_eq!(mail.from, "gatehouse@localhost");
    assert!(
        mail.text()
            .contains("https://app.example.com/reset-password?token="),
        "{}",
        mail.text()
    );
    let token = mail.link_token().unwrap();
    assert_eq!(token.len(), 43, "32 random bytes");

    // As an admin-made account would be: a reset is one way to choose.
    app.sql("UPDATE users SET password_must_change = true WHERE email = 'ada@example.com'")
        .await;
    let reset = json!({ "token": token, "new_password": NEW });
    let r = app.post("/v1/auth/password/reset", &reset).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    app.post("/v1/auth/password/reset", &reset)
        .await
        .assert_problem(400, "RESET_TOKEN_INVALID");
    let login = app.login("ada@example.com", NEW).await;
    assert_eq!(login.status.as_u16(), 200);
    let me = app
        .get("/v1/users/me", Some(str_of(&login.body, "access_token")))
        .await;
    assert_eq!(
        me.body["password_must_change"], false,
        "the reset cleared it"
    );
    app.login("ada@example.com", PASSWORD)
        .await
        .assert_problem(401, "INVALID_CREDENTIALS");
    app.get(
        "/v1/users/me",
        Some(str_of(&registered.body, "access_token")),
    )
    .await
    .assert_problem(401, "AUTH_TOKEN_REVOKED");
    for kind in ["password.reset_requested", "password.reset"] {
        assert_eq!(
            app.count(&format!(
                "SELECT count(*) AS n FROM audit_events WHERE kind = '{kind}'"
            ))
            .await,
            1,
            "{kind}"
        );
    }
}

#[actix_web::test]
async fn forgot_answers_202_for_any_email_and_mails_only_accounts() {
    let (app, sink) = app_with_sink(&[]).await;
    app.register("ada@example.com").await;
    let r = app
        .post(
            "/v1/auth/password/forgot",
            &json!({ "email": "nobody@example.com" }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202);
    assert_eq!(r.body, serde_json::Value::Null);
    app.post(
        "/v1/auth/password/forgot",
        &json!({ "email": "not an email" }),
    )
    .await
    .assert_problem(422, "VALIDATION_FAILED");
    app.post(
        "/v1/auth/password/forgot",
        &json!({ "email": "ada@example.com" }),
    )
    .await;
    mail_about(&sink, "Reset your password").await;
    assert!(
        sink.received()
            .iter()
            .all(|m| m.to == vec!["ada@example.com".to_owned()])
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM mail_outbox WHERE recipient <> 'ada@example.com'")
            .await,
        0
    );
}

#[actix_web::test]
async fn bad_reset_requests_change_nothing() {
    let app = spawn_app().await;
    app.register("ada@example.com").await;
    for token in ["", "x", &"A".repeat(43), &"A".repeat(500)] {
        app.post(
            "/v1/auth/password/reset",
            &json!({ "token": token, "new_password": NEW }),
        )
        .await
        .assert_problem(400, "RESET_TOKEN_INVALID");
    }
    app.post("/v1/auth/password/reset", &json!({ "new_password": NEW }))
        .await
        .assert_problem(422, "VALIDATION_FAILED");
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status.as_u16(),
        200
    );
}

#[actix_web::test]
async fn the_verification_link_verifies_the_email_once() {
    let (app, sink) = app_with_sink(&[]).await;
    let registered = app.register("ada@example.com").await;
    let access = str_of(&registered.body, "access_token");
    let mail = mail_about(&sink, "Confirm your email").await;
    assert!(
        mail.text()
            .contains("http://127.0.0.1:8080/verify-email?token=")
    );

    let verify = json!({ "token": mail.link_token().unwrap() });
    let r = app.post("/v1/auth/email/verify", &verify).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    assert_eq!(
        app.get("/v1/users/me", Some(access)).await.body["email_verified"],
        true
    );
    app.post("/v1/auth/email/verify", &verify)
        .await
        .assert_problem(400, "VERIFY_TOKEN_INVALID");
    let r = app
        .post_as("/v1/users/me/email/verify/resend", access, &json!({}))
        .await;
    assert_eq!(r.status.as_u16(), 202);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM account_tokens WHERE purpose = 'email_verification'")
            .await,
        1,
        "nothing to resend once verified"
    );
}

#[actix_web::test]
async fn resend_mails_a_new_link_and_needs_a_signed_in_caller() {
    let (app, sink) = app_with_sink(&[]).await;
    let registered = app.register("ada@example.com").await;
    let access = str_of(&registered.body, "access_token");
    let r = app
        .post_as("/v1/users/me/email/verify/resend", access, &json!({}))
        .await;
    assert_eq!(r.status.as_u16(), 202);
    let mails = sink.wait_for(2, WAIT).await;
    let tokens: Vec<String> = mails.iter().filter_map(ReceivedMail::link_token).collect();
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1]);
    let r = app
        .client
        .post(app.url("/v1/users/me/email/verify/resend"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[actix_web::test]
async fn a_required_verification_holds_back_tokens_and_login() {
    let (app, sink) = app_with_sink(&[("AUTH_REQUIRE_VERIFIED_EMAIL", "true")]).await;
    let r = app.register("ada@example.com").await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    assert_eq!(r.body["user"]["email"], "ada@example.com");
    assert!(r.body.get("access_token").is_none() && r.body.get("refresh_token").is_none());
    app.login("ada@example.com", "wrong password entirely")
        .await
        .assert_problem(401, "INVALID_CREDENTIALS");
    app.login("ada@example.com", PASSWORD)
        .await
        .assert_problem(403, "EMAIL_NOT_VERIFIED");
    let mail = mail_about(&sink, "Confirm your email").await;
    let r = app
        .post(
            "/v1/auth/email/verify",
            &json!({ "token": mail.link_token().unwrap() }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status.as_u16(),
        200
    );
}

#[actix_web::test]
async fn a_password_change_and_a_refresh_reuse_are_mailed() {
    let (app, sink) = app_with_sink(&[("AUTH_REFRESH_REUSE_GRACE_SECS", "0")]).await;
    let registered = app.register("ada@example.com").await;
    let first = str_of(&registered.body, "refresh_token").to_owned();
    assert_eq!(app.refresh(&first).await.status.as_u16(), 200);
    app.refresh(&first)
        .await
        .assert_problem(401, "REFRESH_TOKEN_REUSED");
    let alert = mail_about(&sink, "Security alert").await;
    assert!(alert.text().contains("ended every session of that sign-in"));

    let login = app.login("ada@example.com", PASSWORD).await;
    let r = app
        .put(
            "/v1/users/me/password",
            str_of(&login.body, "access_token"),
            &json!({ "current_password": PASSWORD, "new_password": NEW }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204);
    let notice = mail_about(&sink, "Your password was changed").await;
    assert_eq!(notice.to, vec!["ada@example.com".to_owned()]);
}

#[actix_web::test]
async fn credentials_in_the_smtp_url_log_in() {
    let sink = SmtpSink::start().await;
    let url = format!("smtp://mailer:p%40ss%3Aword@127.0.0.1:{}", sink.port());
    let app = spawn_app_with(&[("AUTH_SMTP_URL", url.as_str())]).await;
    app.register("ada@example.com").await;
    sink.wait_for(1, WAIT).await;
    assert_eq!(
        sink.logins(),
        vec![("mailer".to_owned(), "p@ss:word".to_owned())]
    );
}

/// The SMTP server is down: requests succeed regardless, the mail waits in
/// the outbox, and goes out once the server is back.
#[actix_web::test]
async fn a_down_smtp_server_fails_no_request_and_gets_the_mail_when_back() {
    let port = SmtpSink::free_port().await;
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(&[("AUTH_SMTP_URL", url.as_str())]).await;
    assert_eq!(app.register("ada@example.com").await.status.as_u16(), 201);
    let r = app
        .post(
            "/v1/auth/password/forgot",
            &json!({ "email": "ada@example.com" }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202);
    app.until_count(
        "SELECT count(*) AS n FROM mail_outbox WHERE attempts >= 2 AND sent_at IS NULL",
        2,
        WAIT,
    )
    .await;

    let sink = SmtpSink::start_on(port).await;
    let mails = sink.wait_for(2, WAIT).await;
    assert_eq!(mails.len(), 2);
    app.until_count(
        "SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NOT NULL",
        2,
        WAIT,
    )
    .await;
}

#[actix_web::test]
async fn a_refusing_smtp_server_is_retried_until_it_accepts() {
    let sink = SmtpSink::start().await;
    sink.refuse(true);
    let url = sink.url();
    let app = spawn_app_with(&[("AUTH_SMTP_URL", url.as_str())]).await;
    assert_eq!(app.register("ada@example.com").await.status.as_u16(), 201);
    app.until_count(
        "SELECT count(*) AS n FROM mail_outbox WHERE attempts >= 2",
        1,
        WAIT,
    )
    .await;
    assert!(sink.received().is_empty());
    sink.refuse(false);
    let mails = sink.wait_for(1, WAIT).await;
    assert_eq!(mails[0].to, vec!["ada@example.com".to_owned()]);
}

#[actix_web::test]
async fn without_smtp_each_mail_is_a_private_eml_file() {
    let app = spawn_app().await;
    app.register("ada@example.com").await;
    app.until_count(
        "SELECT count(*) AS n FROM mail_outbox WHERE sent_at IS NOT NULL",
        1,
        WAIT,
    )
    .await;
    let files: Vec<_> = std::fs::read_dir(&app.mail_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let data = std::fs::read_to_string(&files[0])
        .unwrap()
        .replace('\n', "\r\n")
        .replace("\r\r\n", "\r\n");
    let mail = ReceivedMail {
        from: String::new(),
        to: Vec::new(),
        data,
    };
    assert_eq!(mail.header("to").as_deref(), Some("ada@example.com"));
    assert!(mail.link_token().is_some_and(|t| t.len() == 43));
    std::fs::remove_dir_all(&app.mail_dir).unwrap();
}
