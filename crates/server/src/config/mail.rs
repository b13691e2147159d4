//! `AUTH_PUBLIC_URL`, `AUTH_SMTP_*` and `AUTH_MAIL_*`: how mail leaves.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use gatehouse_domain::SecretString;

use super::source::Source;

#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `AUTH_PUBLIC_URL`: the base of links in mails, `http(s)://` only.
    pub public_url: String,
    /// `AUTH_SMTP_URL`; unset: mails are written to `AUTH_MAIL_DIR`.
    /// Holds the SMTP password when there is one.
    pub smtp_url: Option<SecretString>,
    /// `AUTH_SMTP_TIMEOUT_SECS`, 1 s to an hour.
    pub smtp_timeout: Duration,
    /// `AUTH_MAIL_FROM`: a mailbox (`Name <addr>` or `addr`).
    pub from: String,
    /// `AUTH_MAIL_DIR`.
    pub dir: PathBuf,
    /// `AUTH_MAIL_RETRY_BASE_MS`: the wait after a failed send; it doubles
    /// with each further failure.
    pub retry_base: Duration,
    /// `AUTH_MAIL_POLL_MS`: how often the sender looks for due mail when
    /// the outbox is idle.
    pub poll: Duration,
}

impl MailConfig {
    pub(super) fn read<F: Fn(&str) -> Option<String>>(s: &Source<F>) -> anyhow::Result<Self> {
        let config = Self {
            public_url: s.string("AUTH_PUBLIC_URL", "http://127.0.0.1:8080"),
            smtp_url: s.secret_url("AUTH_SMTP_URL"),
            smtp_timeout: s.seconds_in("AUTH_SMTP_TIMEOUT_SECS", 10, 1..=3_600)?,
            from: s.string("AUTH_MAIL_FROM", "gatehouse@localhost"),
            dir: PathBuf::from(s.string("AUTH_MAIL_DIR", "./mail")),
            retry_base: s.millis("AUTH_MAIL_RETRY_BASE_MS", 5_000)?,
            poll: s.millis("AUTH_MAIL_POLL_MS", 1_000)?,
        };
        let public_url = &config.public_url;
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            bail!("AUTH_PUBLIC_URL must start with http:// or https://, got {public_url:?}");
        }
        crate::mail::parse_from(&config.from)?;
        Ok(config)
    }
}
