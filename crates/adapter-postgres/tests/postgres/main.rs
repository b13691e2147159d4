//! The Postgres adapter against a real PostgreSQL, each test in a fresh
//! database cloned from a migrated template. One test binary (link time).

mod contract;
mod mail;
mod mfa;
mod rotation;
mod startup;
mod support;
mod timeouts;
mod tls;
mod unit_of_work;
mod use_case_races;
