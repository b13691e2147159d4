//! The real application over HTTP: `spawn_app()` starts it on port 0 with
//! the Postgres adapter and a fresh database per test. One test binary.

mod admin;
mod api_keys;
mod architecture;
mod auth;
mod binary;
mod breached;
mod brute_force;
mod framework;
mod introspection;
mod jwks;
mod mail;
mod me;
mod metrics;
mod mfa;
mod password;
mod refresh;
mod repository;
mod sessions;
mod support;
