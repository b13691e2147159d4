//! Names the test template database after the migrations' content, so an
//! edited or added migration gets a fresh template instead of a stale one.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

fn visit(dir: &Path, files: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            visit(&path, files);
        } else if let Ok(bytes) = std::fs::read(&path) {
            files.push((path.display().to_string(), bytes));
        }
    }
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/postgres");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    visit(&dir, &mut files);
    files.sort();
    let mut hasher = DefaultHasher::new();
    for (name, bytes) in &files {
        Path::new(name).file_name().hash(&mut hasher);
        bytes.hash(&mut hasher);
    }
    println!(
        "cargo:rustc-env=GATEHOUSE_MIGRATIONS_HASH={:016x}",
        hasher.finish()
    );
}
