//! `AUTH_PASSWORD_*`, `AUTH_HIBP_URL` and the Argon2 cost.

use std::time::Duration;

use anyhow::bail;
use gatehouse_domain::password::{LOWEST_MIN_LENGTH, MAX_PASSWORD_CHARS};

use super::source::Source;

/// Argon2 memory beyond this is a typo, not a cost.
const MAX_ARGON2_MEMORY_KIB: u32 = 1_048_576;
/// OWASP's recommended minimum for Argon2id (with t=2, p=1).
pub(super) const OWASP_ARGON2_MEMORY_KIB: u32 = 19_456;

#[derive(Debug, Clone)]
pub struct PasswordConfig {
    /// `AUTH_PASSWORD_MIN_LENGTH`, in code points.
    pub min_length: usize,
    /// `AUTH_HIBP_URL`: the Pwned Passwords range API's base; unset: the
    /// bundled list only.
    pub hibp_url: Option<String>,
    /// `AUTH_ARGON2_MEMORY_KIB`, up to 1 GiB (below OWASP's warns).
    pub argon2_memory_kib: u32,
    /// `AUTH_ARGON2_ITERATIONS`, 1 to 64.
    pub argon2_iterations: u32,
    /// `AUTH_ARGON2_PARALLELISM`, 1 to 64.
    pub argon2_parallelism: u32,
    /// `AUTH_ARGON2_MAX_CONCURRENT`: hashing threads, one per core by default.
    pub argon2_max_concurrent: usize,
    /// `AUTH_ARGON2_QUEUE_WAIT_MS`: a hash not started by then is refused
    /// (503 `OVERLOADED`); 0 refuses whatever must wait.
    pub argon2_queue_wait: Duration,
}

impl PasswordConfig {
    pub(super) fn read<F: Fn(&str) -> Option<String>>(s: &Source<F>) -> anyhow::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let config = Self {
            min_length: s.number_in(
                "AUTH_PASSWORD_MIN_LENGTH",
                8,
                LOWEST_MIN_LENGTH..=MAX_PASSWORD_CHARS,
            )?,
            hibp_url: s.optional("AUTH_HIBP_URL"),
            argon2_memory_kib: s.number_in(
                "AUTH_ARGON2_MEMORY_KIB",
                OWASP_ARGON2_MEMORY_KIB,
                1..=MAX_ARGON2_MEMORY_KIB,
            )?,
            argon2_iterations: s.number_in("AUTH_ARGON2_ITERATIONS", 2, 1..=64)?,
            argon2_parallelism: s.number_in("AUTH_ARGON2_PARALLELISM", 1, 1..=64)?,
            argon2_max_concurrent: s.number_from("AUTH_ARGON2_MAX_CONCURRENT", cores, 1)?,
            argon2_queue_wait: Duration::from_millis(s.number("AUTH_ARGON2_QUEUE_WAIT_MS", 3_000)?),
        };
        if let Some(url) = &config.hibp_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("AUTH_HIBP_URL must start with https:// (or http://), got {url:?}");
        }
        Ok(config)
    }
}
