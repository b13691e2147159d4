//! The real application over HTTP: `spawn_app()` starts it on port 0 with
//! a fresh database per test, on PostgreSQL, or on SQLite with
//! `GATEHOUSE_TEST_STORE=sqlite`. One test binary.

mod admin;
mod api_keys;
mod architecture;
mod auth;
mod binary;
mod breached;
mod brute_force;
mod db_copy;
mod framework;
mod introspection;
mod jwks;
mod mail;
mod me;
mod metrics;
mod mfa;
mod password;
mod profile;
mod reauth;
mod refresh;
mod repository;
mod sessions;
mod support;
