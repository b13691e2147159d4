# Gatehouse tasks. `just run` serves on the embedded SQLite store (nothing
# else needed; DATABASE_URL=postgres://… for PostgreSQL), `just test` runs
# everything CI runs.

export DATABASE_URL := env_var_or_default("DATABASE_URL", "sqlite://gatehouse.db")

# Where `just run` keeps the keys it made on its first run (git-ignored,
# readable by you only). No key is written in the repository.
dev_keys := ".gatehouse-dev-keys"

default:
    @just --list

# Start the service (release build) on $DATABASE_URL (default: sqlite://gatehouse.db, here);
# creates and migrates the database.
# Without AUTH_JWT_SECRET / AUTH_DATA_KEY, random keys are made on the first run and reused.
run:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -s "{{dev_keys}}" ]; then
        (
            umask 077
            key() { head -c 48 /dev/urandom | base64 | tr -d '\n'; }
            printf 'dev_jwt_secret=%s\ndev_data_key=%s\n' "$(key)" "$(key)" > "{{dev_keys}}"
        )
        echo "made random development keys in {{dev_keys}} (mode 0600)"
    fi
    chmod 600 "{{dev_keys}}"
    . "./{{dev_keys}}"
    export AUTH_JWT_SECRET="${AUTH_JWT_SECRET:-$dev_jwt_secret}"
    export AUTH_DATA_KEY="${AUTH_DATA_KEY:-$dev_data_key}"
    exec cargo run --release -p gatehouse-server --bin gatehouse -- serve

# Formatting, lints, then every test (unit, use-case, store contract on memory, PostgreSQL
# and SQLite, HTTP, architecture); the HTTP suite runs twice, on PostgreSQL and on SQLite.
# Tests make their own databases: PostgreSQL at $TEST_DATABASE_URL's server (the local one).
test: fmt-check lint
    #!/usr/bin/env bash
    set -euo pipefail
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    cargo test --workspace --all-targets 2>&1 | tee "$log"
    GATEHOUSE_TEST_STORE=sqlite cargo test -p gatehouse-server --test api 2>&1 | tee -a "$log"
    cargo test --workspace --doc 2>&1 | tee -a "$log"
    # One closing line for the whole workspace (cargo prints one per binary).
    awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"

# Known vulnerabilities (RustSec advisories) in Cargo.lock, with cargo-audit. Needs the
# network for the advisory database; CI runs it when the network allows. Exceptions, each
# with its reason, are in .cargo/audit.toml.
audit:
    command -v cargo-audit >/dev/null 2>&1 || cargo install cargo-audit --locked
    cargo audit

# Schemathesis (installed in .venv-api-check on first use) against a fresh `gatehouse serve`:
# every check, the stateful phase following the document's links; zero failures is the bar.
# Extra arguments go to `st run` (e.g. `just api-check --max-examples 200`).
api-check *ARGS:
    .ci/api-check {{ARGS}}

# Clippy on everything, warnings are errors.
lint:
    cargo clippy --workspace --all-targets -- -D warnings

fmt:
    cargo fmt --all

fmt-check:
    cargo fmt --all -- --check

# Apply pending migrations to $DATABASE_URL (creating the database if missing).
migrate:
    cargo run -p gatehouse-server --bin gatehouse -- migrate

# Gatehouse under wrk against the machine's ceilings (Argon2 rate, pgbench), side by side;
# writes BENCHMARKS.md. Needs the local PostgreSQL, pgbench and wrk (installed if missing).
bench:
    python3 bench/bench.py

# PostgreSQL in Docker, for machines without a local one.
db:
    docker compose up -d --wait postgres
