//! Every use case against the real SQLite store (a fresh file per test),
//! the real crypto adapters and a fixed clock: each success path and each
//! error variant. One test binary (link time).

mod admin;
mod api_keys;
mod breached;
mod current_user;
mod email_verification;
mod housekeeping;
mod introspect;
mod lockout;
mod login;
mod logout;
mod mail;
mod mfa;
mod password;
mod password_reset;
mod profile;
mod refresh;
mod register;
mod sessions;
mod sign_in_races;
mod support;
