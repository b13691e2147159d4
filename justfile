# Gatehouse tasks. `just run` serves against the local PostgreSQL,
# `just test` runs everything CI runs.

export DATABASE_URL := env_var_or_default("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gatehouse")

# Development-only keys so `just run` works out of the box. Never deploy with them.
dev_jwt_secret := "dev-only-jwt-secret-do-not-deploy-0123456789"
dev_data_key := "dev-only-data-key-do-not-deploy-0123456789"

default:
    @just --list

# Start the service (release build) against $DATABASE_URL; creates and migrates the database.
run:
    AUTH_JWT_SECRET="${AUTH_JWT_SECRET:-{{dev_jwt_secret}}}" \
    AUTH_DATA_KEY="${AUTH_DATA_KEY:-{{dev_data_key}}}" \
    cargo run --release -p gatehouse-server --bin gatehouse -- serve

# Formatting, lints, then every test (unit, use-case, PostgreSQL adapter, HTTP, architecture).
test: fmt-check lint
    #!/usr/bin/env bash
    set -euo pipefail
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    cargo test --workspace --all-targets 2>&1 | tee "$log"
    cargo test --workspace --doc 2>&1 | tee -a "$log"
    # One closing line for the whole workspace (cargo prints one per binary).
    awk '/^test result:/ { passed += $4; failed += $6 } END { printf "%d passed, %d failed\n", passed, failed }' "$log"

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
