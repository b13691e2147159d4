//! The dependency direction of docs/architecture.md ("Layers"), checked over `cargo metadata`:
//! a forbidden edge (say, `application` depending on `tokio`) fails the build's tests.

use std::process::Command;

use serde_json::Value;

const CRYPTO: &[&str] = &[
    "argon2",
    "jsonwebtoken",
    "rand",
    "sha2",
    "hkdf",
    "chacha20poly1305",
];
const DATABASE: &[&str] = &["diesel", "diesel-async", "diesel_migrations", "bb8"];
const WEB: &[&str] = &["actix-web", "awc"];
const MAIL: &[&str] = &["lettre"];

/// (package, workspace crates it may use, external crates it must not use)
fn rules() -> Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)> {
    let all_tech: Vec<&str> = [CRYPTO, DATABASE, WEB, MAIL, &["tokio"]].concat();
    let layers = ["gatehouse-application", "gatehouse-domain"];
    vec![
        ("gatehouse-domain", vec![], all_tech.clone()),
        // The SMTP sink needs sockets, so tokio (the runtime every test
        // already runs on); no adapter technology.
        (
            "gatehouse-testkit",
            layers.to_vec(),
            [CRYPTO, DATABASE, WEB, MAIL].concat(),
        ),
        ("gatehouse-application", vec!["gatehouse-domain"], all_tech),
        (
            "gatehouse-adapter-postgres",
            layers.to_vec(),
            [CRYPTO, WEB, MAIL].concat(),
        ),
        (
            "gatehouse-adapter-sqlite",
            layers.to_vec(),
            [CRYPTO, WEB, MAIL].concat(),
        ),
        (
            "gatehouse-adapter-crypto",
            layers.to_vec(),
            [DATABASE, WEB, MAIL].concat(),
        ),
        (
            "gatehouse-http-actix",
            layers.to_vec(),
            [CRYPTO, DATABASE, MAIL].concat(),
        ),
    ]
}

/// Every forbidden normal (non-dev, non-build) dependency edge.
fn violations(metadata: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    for (name, allowed_internal, forbidden) in rules() {
        let Some(package) = packages.iter().find(|p| p["name"] == name) else {
            found.push(format!("{name} is missing from the workspace"));
            continue;
        };
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            if !dep["kind"].is_null() {
                continue; // dev- and build-dependencies may use test helpers
            }
            let dep_name = dep["name"].as_str().unwrap_or_default();
            if dep_name == TESTKIT {
                continue; // reported below, for every package
            }
            let internal = dep_name.starts_with("gatehouse-");
            if (internal && !allowed_internal.contains(&dep_name)) || forbidden.contains(&dep_name)
            {
                found.push(format!("{name} must not depend on {dep_name}"));
            }
        }
    }
    // Test doubles never ship: no package may use them outside its tests.
    for package in &packages {
        let uses_testkit = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|dep| dep["name"] == TESTKIT && dep["kind"].is_null());
        if uses_testkit {
            let name = package["name"].as_str().unwrap_or_default();
            found.push(format!("{name} must use {TESTKIT} only in its tests"));
        }
    }
    found
}

const TESTKIT: &str = "gatehouse-testkit";

#[test]
fn crates_depend_only_inwards() {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(violations(&metadata), Vec::<String>::new());
}

#[test]
fn the_check_catches_a_forbidden_edge() {
    let dep = |name: &str| serde_json::json!({ "name": name, "kind": null });
    let dev = |name: &str| serde_json::json!({ "name": name, "kind": "dev" });
    let package =
        |name: &str, deps: Vec<Value>| serde_json::json!({ "name": name, "dependencies": deps });
    let metadata = serde_json::json!({ "packages": [
        package("gatehouse-domain", vec![]),
        package("gatehouse-testkit", vec![dep("gatehouse-domain")]),
        package("gatehouse-server", vec![dep("gatehouse-testkit")]),
        package("gatehouse-application", vec![dep("gatehouse-domain"), dep("tokio"), dev("gatehouse-adapter-sqlite")]),
        package("gatehouse-adapter-postgres", vec![dep("gatehouse-adapter-crypto")]),
        package("gatehouse-adapter-sqlite", vec![]),
        package("gatehouse-adapter-crypto", vec![]),
        package("gatehouse-http-actix", vec![dep("diesel")]),
    ]});
    assert_eq!(
        violations(&metadata),
        vec![
            "gatehouse-application must not depend on tokio",
            "gatehouse-adapter-postgres must not depend on gatehouse-adapter-crypto",
            "gatehouse-http-actix must not depend on diesel",
            "gatehouse-server must use gatehouse-testkit only in its tests",
        ]
    );
}
