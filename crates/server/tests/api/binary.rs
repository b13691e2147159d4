//! The `gatehouse` binary itself.

use std::process::Command;

#[test]
fn serve_refuses_a_short_secret_and_says_why() {
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .env_clear()
        .env("AUTH_JWT_SECRET", "too-short")
        .env("AUTH_DATA_KEY", "fedcba9876543210fedcba9876543210")
        .env(
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/never-reached",
        )
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("AUTH_JWT_SECRET is too short: 9 bytes"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("too-short"),
        "the secret itself is never printed: {stderr}"
    );
}

#[test]
fn serve_refuses_to_start_without_a_data_key() {
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .env_clear()
        .env("AUTH_JWT_SECRET", "0123456789abcdef0123456789abcdef")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("AUTH_DATA_KEY is required"));
}

#[test]
fn help_lists_the_commands() {
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("--help")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("serve") && stdout.contains("migrate"),
        "{stdout}"
    );
}

#[test]
fn keys_generate_writes_a_fresh_usable_key_and_nothing_else() {
    let generate = || {
        let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["keys", "generate"])
            // Configuration is not read: nonsense in it changes nothing.
            .env("AUTH_ACCESS_TOKEN_TTL_SECS", "soon")
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        (
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };
    let (pem, note) = generate();
    let key = gatehouse_adapter_crypto::Ed25519SigningKey::from_pem(&pem).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    assert!(
        pem.trim_end().ends_with("-----END PRIVATE KEY-----"),
        "{pem}"
    );
    assert_eq!(note.trim(), format!("kid: {}", key.public().kid()));
    let (again, _) = generate();
    assert_ne!(pem, again, "every run makes a new key");
}

/// SIGTERM stops the server cleanly (actix drains in-flight requests first).
#[actix_web::test]
async fn serve_migrates_answers_and_stops_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let db = gatehouse_adapter_postgres::test_support::TestDatabase::create().await;
    // A database that does not exist yet: `serve` must create and migrate it.
    let url = db.url.replace(&db.name, &format!("{}_bin", db.name));
    let _cleanup = gatehouse_adapter_postgres::test_support::TestDatabase {
        name: format!("{}_bin", db.name),
        url: url.clone(),
    };
    let mail_dir =
        std::env::temp_dir().join(format!("gatehouse-log-test-{}", uuid::Uuid::now_v7()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .env_clear()
        .env("DATABASE_URL", &url)
        .env("AUTH_LISTEN_ADDR", "127.0.0.1:0")
        .env("AUTH_JWT_SECRET", "0123456789abcdef0123456789abcdef")
        .env("AUTH_DATA_KEY", "fedcba9876543210fedcba9876543210")
        .env("AUTH_ARGON2_MEMORY_KIB", "64")
        .env("AUTH_ARGON2_ITERATIONS", "1")
        // Everything our code and its tracing-instrumented crates can say.
        .env("RUST_LOG", "trace")
        .env("AUTH_MAIL_DIR", &mail_dir)
        .env("AUTH_MAIL_POLL_MS", "50")
        .env("AUTH_REFRESH_REUSE_GRACE_SECS", "0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the log on a thread so that a silent server fails the test by
    // timeout instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_line = || rx.recv_timeout(std::time::Duration::from_secs(60));
    let port = loop {
        let Ok(line) = next_line() else {
            let _ = child.kill();
            panic!("server did not report listening");
        };
        if let Some(rest) = line.split("port=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let client = awc::Client::default();
    let status = client
        .get(format!("http://127.0.0.1:{port}/health/ready"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200);

    // Exercise every path that handles a secret, including failures.
    let password = "a password that must never be logged";
    let base = format!("http://127.0.0.1:{port}");
    let mut r = client
        .post(format!("{base}/v1/auth/register"))
        .send_json(&serde_json::json!({ "email": "log@example.com", "password": password }))
        .await
        .unwrap();
    let registered: serde_json::Value = r.json().await.unwrap();
    {
        use diesel_async::AsyncConnection;
        // Enrolling MFA below needs a verified email.
        let mut conn = diesel_async::AsyncPgConnection::establish(&url)
            .await
            .unwrap();
        diesel_async::RunQueryDsl::execute(
            diesel::sql_query("UPDATE users SET email_verified_at = now()"),
            &mut conn,
        )
        .await
        .unwrap();
    }
    let refresh_token = registered["refresh_token"].as_str().unwrap().to_owned();
    let access_token = registered["access_token"].as_str().unwrap().to_owned();
    for body in [
        serde_json::json!({ "email": "log@example.com", "password": password }),
        serde_json::json!({ "email": "log@example.com", "password": "wrong but also secret" }),
    ] {
        client
            .post(format!("{base}/v1/auth/login"))
            .send_json(&body)
            .await
            .unwrap();
    }
    let mut r = client
        .post(format!("{base}/v1/auth/refresh"))
        .send_json(&serde_json::json!({ "refresh_token": refresh_token }))
        .await
        .unwrap();
    let rotated: serde_json::Value = r.json().await.unwrap();
    let successor = rotated["refresh_token"].as_str().unwrap().to_owned();
    client
        .get(format!("{base}/v1/users/me"))
        .insert_header(("authorization", format!("Bearer {access_token}")))
        .send()
        .await
        .unwrap();
    let mut r = client
        .post(format!("{base}/v1/users/me/api-keys"))
        .insert_header(("authorization", format!("Bearer {access_token}")))
        .send_json(&serde_json::json!({ "name": "log test" }))
        .await
        .unwrap();
    let created: serde_json::Value = r.json().await.unwrap();
    let api_key = created["key"].as_str().unwrap().to_owned();
    client
        .get(format!("{base}/v1/users/me"))
        .insert_header(("x-api-key", api_key.as_str()))
        .send()
        .await
        .unwrap();
    // Two-step sign-in: the secret, the URI, the codes, a backup code used.
    let mut r = client
        .post(format!("{base}/v1/users/me/mfa/totp/setup"))
        .insert_header(("authorization", format!("Bearer {access_token}")))
        .send()
        .await
        .unwrap();
    let setup: serde_json::Value = r.json().await.unwrap();
    let totp_secret = setup["secret"].as_str().unwrap().to_owned();
    let otpauth_uri = setup["otpauth_uri"].as_str().unwrap().to_owned();
    let code = totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        totp_rs::Secret::Encoded(totp_secret.clone())
            .to_bytes()
            .unwrap(),
        None,
        String::new(),
    )
    .generate_current()
    .unwrap();
    let mut r = client
        .post(format!("{base}/v1/users/me/mfa/totp/enable"))
        .insert_header(("authorization", format!("Bearer {access_token}")))
        .send_json(&serde_json::json!({ "code": code }))
        .await
        .unwrap();
    let enabled: serde_json::Value = r.json().await.unwrap();
    let backup_codes: Vec<String> =
        serde_json::from_value(enabled["backup_codes"].clone()).unwrap();
    let signed_in = client
        .post(format!("{base}/v1/auth/login"))
        .send_json(&serde_json::json!({
            "email": "log@example.com", "password": password, "otp": backup_codes[0]
        }))
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 200);
    client
        .post(format!("{base}/v1/auth/login"))
        .send_json(&serde_json::json!({
            "email": "log@example.com", "password": password, "otp": "wrong-otp-secret"
        }))
        .await
        .unwrap();
    client
        .post(format!("{base}/v1/auth/password/forgot"))
        .send_json(&serde_json::json!({ "email": "log@example.com" }))
        .await
        .unwrap();
    // The reset and verification links, from the .eml files the sender writes.
    let links = {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let links: Vec<String> = std::fs::read_dir(&mail_dir)
                .map(|entries| {
                    entries
                        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                        .filter_map(|data| {
                            gatehouse_testkit::ReceivedMail {
                                from: String::new(),
                                to: Vec::new(),
                                data,
                            }
                            .link_token()
                        })
                        .collect()
                })
                .unwrap_or_default();
            if links.len() >= 2 {
                break links;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no mail files: {links:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let _ = std::fs::remove_dir_all(&mail_dir);
    // Presented again (no grace): a reuse, which the use case logs.
    let reused = client
        .post(format!("{base}/v1/auth/refresh"))
        .insert_header(("x-request-id", "reuse-trace-1"))
        .send_json(&serde_json::json!({ "refresh_token": refresh_token }))
        .await
        .unwrap();
    assert_eq!(reused.status().as_u16(), 401);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut rest = Vec::new();
    while let Ok(line) = next_line() {
        rest.push(line);
    }
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}; log: {rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("gatehouse stopped")),
        "{rest:?}"
    );
    assert!(
        rest.iter().any(|l| l.contains("/v1/auth/refresh")),
        "requests are logged"
    );
    let reuse = rest
        .iter()
        .find(|l| l.contains("reuse detected"))
        .expect("the use case's warning");
    assert!(
        reuse.contains("request_id=reuse-trace-1"),
        "use-case lines carry their request's id: {reuse}"
    );
    let mut secrets = vec![
        password,
        "wrong but also secret",
        &refresh_token,
        &successor,
        &access_token,
        &api_key,
        "$argon2",
        // Addresses appear masked (l***@example.com), never whole.
        "log@example.com",
        &totp_secret,
        &otpauth_uri,
        // (Not the six-digit code: log timestamps hold six-digit runs.)
        "wrong-otp-secret",
    ];
    secrets.extend(backup_codes.iter().map(String::as_str));
    secrets.extend(links.iter().map(String::as_str));
    for line in &rest {
        for secret in &secrets {
            assert!(!line.contains(secret), "a log line leaks a secret: {line}");
        }
    }
}

/// `gatehouse admin create` reads the password from standard input and
/// makes a verified account that can sign in.
#[actix_web::test]
async fn admin_create_makes_an_account_from_standard_input() {
    use std::io::Write;
    use std::process::Stdio;

    let db = std::sync::Arc::new(crate::support::TestDb::create().await);
    let url = db.url();
    let run_as = |email: &str, password: &str, role: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["admin", "create", "--email", email])
            .args(role)
            .env("DATABASE_URL", &url)
            .env("AUTH_JWT_SECRET", crate::support::SECRET)
            .env("AUTH_DATA_KEY", crate::support::DATA_KEY)
            .env("AUTH_ARGON2_MEMORY_KIB", "64")
            .env("AUTH_ARGON2_ITERATIONS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let run = |email: &str, password: &str| run_as(email, password, &[]);
    let made = run("Root@Example.com", crate::support::PASSWORD);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let again = run("root@example.com", "another fine passphrase");
    assert!(!again.status.success(), "the email is taken");

    let app = crate::support::spawn_on(std::sync::Arc::clone(&db), &[]).await;
    let login = app
        .login("root@example.com", crate::support::PASSWORD)
        .await;
    assert_eq!(login.status.as_u16(), 200, "{}", login.body);
    let me = app
        .get(
            "/v1/users/me",
            Some(crate::support::str_of(&login.body, "access_token")),
        )
        .await;
    assert_eq!(me.body["role"], "user", "without --role, a plain user");
    assert_eq!(me.body["email_verified"], true);

    assert_eq!(me.body["name"], serde_json::Value::Null);

    let made = run_as(
        "ops@example.com",
        crate::support::PASSWORD,
        &["--role", "admin", "--name", " Ops Team "],
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let login = app.login("ops@example.com", crate::support::PASSWORD).await;
    let me = app
        .get(
            "/v1/users/me",
            Some(crate::support::str_of(&login.body, "access_token")),
        )
        .await;
    assert_eq!(me.body["role"], "admin");
    assert_eq!(me.body["name"], "Ops Team");
    let bad = run_as(
        "x@example.com",
        crate::support::PASSWORD,
        &["--name", "\u{202E}"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--name"));
}

#[test]
fn config_check_prints_the_effective_configuration_without_secrets() {
    let check = |vars: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        command.args(["config", "check"]).env_clear();
        for (name, value) in vars {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let secret = "config-check-secret-that-is-long-enough-42";
    let data_key = "config-check-data-key-that-is-long-enough-7";
    let output = check(&[
        ("AUTH_JWT_SECRET", secret),
        ("AUTH_DATA_KEY", data_key),
        ("AUTH_SMTP_URL", "smtp://mailer:smtp-password-7@mail:587"),
        ("AUTH_ACCESS_TOKEN_TTL_SECS", "600"),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("AUTH_ACCESS_TOKEN_TTL_SECS=600\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("AUTH_REFRESH_TOKEN_TTL_SECS=604800\n"),
        "{stdout}"
    );
    assert!(stdout.contains("AUTH_JWT_SECRET=<redacted>\n"), "{stdout}");
    assert!(stdout.contains("AUTH_SMTP_URL=smtp://mailer:<redacted>@mail:587\n"));
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
    assert!(!stdout.contains("smtp-password-7"));
    assert!(stderr.contains("configuration valid"), "{stderr}");

    // Invalid: non-zero, and the message names the variable.
    for (vars, named) in [
        (
            vec![
                ("AUTH_JWT_SECRET", secret),
                ("AUTH_DATA_KEY", data_key),
                ("AUTH_ACCESS_TOKEN_TTL_SECS", "soon"),
            ],
            "AUTH_ACCESS_TOKEN_TTL_SECS",
        ),
        (vec![("AUTH_DATA_KEY", data_key)], "AUTH_JWT_SECRET"),
        (
            vec![
                ("AUTH_DATA_KEY", data_key),
                ("AUTH_JWT_ALGORITHM", "EdDSA"),
                ("AUTH_JWT_PRIVATE_KEY_FILE", "/nonexistent/key.pem"),
            ],
            "AUTH_JWT_PRIVATE_KEY_FILE",
        ),
    ] {
        let output = check(&vars);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{named}: {stderr}");
        assert!(stderr.contains(named), "{named}: {stderr}");
        assert!(!stderr.contains(secret));
    }
}

/// With a `sqlite://` URL, `serve` needs nothing beside it: it creates the
/// file (and its directory), migrates it, says in one line which store it
/// uses and that it is for one instance only, serves, and stops on SIGTERM.
#[actix_web::test]
async fn serve_on_sqlite_makes_its_file_names_its_store_and_serves() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = std::env::temp_dir().join(format!("gatehouse-sqlite-bin-{}", uuid::Uuid::now_v7()));
    let file = dir.join("not/yet/there/gatehouse.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{}", file.display()))
        .env("AUTH_LISTEN_ADDR", "127.0.0.1:0")
        .env("AUTH_JWT_SECRET", "0123456789abcdef0123456789abcdef")
        .env("AUTH_DATA_KEY", "fedcba9876543210fedcba9876543210")
        .env("AUTH_ARGON2_MEMORY_KIB", "64")
        .env("AUTH_ARGON2_ITERATIONS", "1")
        .env("AUTH_MAIL_DIR", dir.join("mail"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut store_lines = Vec::new();
    let port = loop {
        let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(60)) else {
            let _ = child.kill();
            panic!("server did not report listening");
        };
        if line.contains("store:") {
            store_lines.push(line.clone());
        }
        if let Some(rest) = line.split("port=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    assert_eq!(store_lines.len(), 1, "{store_lines:?}");
    assert!(
        store_lines[0].contains("SQLite") && store_lines[0].contains("one instance only"),
        "{store_lines:?}"
    );
    assert!(file.exists(), "the database file is made");
    let client = awc::Client::default();
    let base = format!("http://127.0.0.1:{port}");
    let ready = client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let mut registered = client
        .post(format!("{base}/v1/auth/register"))
        .send_json(&serde_json::json!({ "email": "lite@example.com", "password": "a fine sqlite passphrase" }))
        .await
        .unwrap();
    assert_eq!(registered.status().as_u16(), 201);
    let body: serde_json::Value = registered.json().await.unwrap();
    let me = client
        .get(format!("{base}/v1/users/me"))
        .insert_header((
            "authorization",
            format!("Bearer {}", body["access_token"].as_str().unwrap()),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "clean stop: {status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
