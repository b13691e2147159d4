//! `AUTH_LISTEN_ADDR`, proxies, CORS and the sign-in rate limit.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use gatehouse_http_actix::TrustedProxies;

use super::source::Source;

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// `AUTH_LISTEN_ADDR`, `host:port`.
    pub listen_addr: SocketAddr,
    /// `AUTH_TRUSTED_PROXIES`: CIDRs or addresses whose `X-Forwarded-For`
    /// is believed.
    pub trusted_proxies: TrustedProxies,
    /// `AUTH_CORS_ORIGINS`: exact origins browsers may call from.
    pub cors_origins: Vec<String>,
    /// `AUTH_RATE_LIMIT_PER_MIN`: requests per minute and client IP on
    /// `/v1/auth/*`; 0 is off.
    pub rate_limit_per_min: u32,
}

impl HttpConfig {
    pub(super) fn read<F: Fn(&str) -> Option<String>>(s: &Source<F>) -> anyhow::Result<Self> {
        let listen = s.string("AUTH_LISTEN_ADDR", "127.0.0.1:8080");
        Ok(Self {
            listen_addr: listen
                .parse()
                .with_context(|| format!("AUTH_LISTEN_ADDR must be host:port, got {listen:?}"))?,
            trusted_proxies: TrustedProxies::parse(
                &s.optional("AUTH_TRUSTED_PROXIES").unwrap_or_default(),
            )
            .map_err(|entry| {
                anyhow::anyhow!(
                    "AUTH_TRUSTED_PROXIES must be comma-separated CIDRs or addresses, got {entry:?}"
                )
            })?,
            cors_origins: cors_origins(&s.optional("AUTH_CORS_ORIGINS").unwrap_or_default())?,
            rate_limit_per_min: s.number("AUTH_RATE_LIMIT_PER_MIN", 300)?,
        })
    }
}

/// `scheme://host[:port]` each, no path, no wildcard: CORS compares
/// origins exactly.
fn cors_origins(raw: &str) -> anyhow::Result<Vec<String>> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|origin| {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            match rest {
                Some(host) if !host.is_empty() && !host.contains(['/', '*', ' ', '?', '#']) => {
                    Ok(origin.to_owned())
                }
                _ => bail!(
                    "AUTH_CORS_ORIGINS must be exact origins like https://app.example.com, got {origin:?}"
                ),
            }
        })
        .collect()
}
