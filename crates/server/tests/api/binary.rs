//! The `gatehouse` binary itself.

use std::process::Command;

#[test]
fn serve_refuses_a_short_secret_and_says_why() {
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .env_clear()
        .env("AUTH_JWT_SECRET", "too-short")
        .env("AUTH_DATA_KEY", "0123456789abcdef0123456789abcdef")
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
