//! What the repository itself must never hold: a key that a running
//! service would use.

use std::path::Path;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// `NAME=value` or `NAME: value` with a literal value long enough to be a
/// key (a reference like `${NAME}` or `$(key)` is not one).
fn literal_key(line: &str, name: &str) -> Option<String> {
    let at = line.find(name)?;
    let rest = line[at + name.len()..]
        .trim_start_matches(['"', '\''])
        .trim_start();
    let value = rest
        .strip_prefix(":=")
        .or_else(|| rest.strip_prefix('='))
        .or_else(|| rest.strip_prefix(':'))?;
    let value = value.trim().trim_matches(['"', '\'']);
    let key: String = value
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "+/=_-".contains(*c))
        .collect();
    (key.len() >= 16).then_some(key)
}

fn files_operators_run() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = [
        "justfile",
        "docker-compose.yml",
        "Dockerfile",
        ".ci/run",
        "README.md",
    ]
    .iter()
    .map(|f| Path::new(ROOT).join(f))
    .collect();
    for dir in ["docs", "bench", "deploy"] {
        if let Ok(entries) = std::fs::read_dir(Path::new(ROOT).join(dir)) {
            files.extend(
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file()),
            );
        }
    }
    files
}

#[test]
fn no_key_is_written_where_the_service_is_run_from() {
    let mut found = Vec::new();
    for file in files_operators_run() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            for name in [
                "AUTH_JWT_SECRET",
                "AUTH_DATA_KEY",
                "dev_jwt_secret",
                "dev_data_key",
            ] {
                if let Some(key) = literal_key(line, name) {
                    found.push(format!("{}:{}: {name} = {key}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "keys in the repository: {found:#?}");
}

#[test]
fn the_scan_recognises_a_written_key() {
    assert!(
        literal_key(
            "AUTH_JWT_SECRET=dev-only-jwt-secret-0123456789",
            "AUTH_JWT_SECRET"
        )
        .is_some()
    );
    assert!(literal_key("      AUTH_DATA_KEY: 0123456789abcdef0123", "AUTH_DATA_KEY").is_some());
    assert!(
        literal_key(
            "dev_jwt_secret := \"dev-only-jwt-secret-do-not-deploy\"",
            "dev_jwt_secret"
        )
        .is_some()
    );
    assert!(
        literal_key(
            "AUTH_JWT_SECRET: ${AUTH_JWT_SECRET:?set it}",
            "AUTH_JWT_SECRET"
        )
        .is_none()
    );
    assert!(
        literal_key(
            "export AUTH_DATA_KEY=\"${AUTH_DATA_KEY:-$dev_data_key}\"",
            "AUTH_DATA_KEY"
        )
        .is_none()
    );
}

#[test]
fn the_keys_just_run_makes_stay_out_of_git() {
    let ignored = std::fs::read_to_string(Path::new(ROOT).join(".gitignore")).unwrap();
    assert!(ignored.lines().any(|l| l.trim() == "/.gatehouse-dev-keys"));
}
