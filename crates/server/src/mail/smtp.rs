//! SMTP through lettre: `smtp://host:port` upgrades with STARTTLS when the
//! server offers it (`?tls=required` insists), `smtps://` is TLS from the
//! first byte, `user:password@` authenticates. Every step is bounded by a
//! timeout, so a silent server costs one attempt, not a stuck sender.

use std::time::Duration;

use anyhow::{Context, anyhow};
use gatehouse_application::PortError;
use gatehouse_application::ports::{Mail, Mailer};
use gatehouse_domain::SecretString;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::message;

#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the credentials.
        f.write_str("SmtpMailer")
    }
}

impl SmtpMailer {
    /// # Errors
    /// When the URL is not one of the forms above; the message names the
    /// variable but never repeats the URL (it may hold a password).
    pub fn new(url: &SecretString, from: Mailbox, timeout: Duration) -> anyhow::Result<Self> {
        let raw = url.expose();
        if raw.starts_with("smtp://") && has_credentials(raw) && !raw.contains("tls=required") {
            tracing::warn!(
                "AUTH_SMTP_URL has credentials but does not insist on TLS: a server without \
                 STARTTLS (or someone in between) would receive them in clear; add ?tls=required"
            );
        }
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&with_opportunistic_starttls(raw))
            .map_err(|e| anyhow!("{e}"))
            .context("AUTH_SMTP_URL must be smtp://host:port or smtps://host:port, optionally with user:password@ and ?tls=required")?
            .timeout(Some(timeout));
        if raw.starts_with("smtp://") && !has_port(raw) {
            // With a `tls` parameter lettre defaults to the submission
            // port; a bare smtp:// means the SMTP port.
            builder = builder.port(25);
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

/// The `user:password@host:port` part of a URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

fn has_credentials(url: &str) -> bool {
    authority(url).contains('@')
}

fn has_port(url: &str) -> bool {
    let host = authority(url).rsplit('@').next().unwrap_or("");
    // An IPv6 literal has colons of its own, inside its brackets.
    host.rsplit(']').next().unwrap_or(host).contains(':')
}

/// lettre reads a bare `smtp://` as plain text; the contract says STARTTLS
/// when the server offers it.
fn with_opportunistic_starttls(url: &str) -> String {
    if url.starts_with("smtp://") && !url.contains("tls=") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}tls=opportunistic")
    } else {
        url.to_owned()
    }
}

impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail) -> Result<(), PortError> {
        let message = message::build(&self.from, &mail)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| PortError::Unavailable(anyhow!(describe(&e))))
    }
}

/// What went wrong, without the server's text: it may quote the address.
fn describe(error: &lettre::transport::smtp::Error) -> String {
    let code = error
        .status()
        .map_or_else(String::new, |c| format!(" (SMTP {c})"));
    let kind = if error.is_timeout() {
        "SMTP server timed out"
    } else if error.is_tls() {
        "TLS with the SMTP server failed"
    } else if error.is_permanent() {
        "SMTP server refused the mail"
    } else if error.is_transient() {
        "SMTP server deferred the mail"
    } else {
        "SMTP server unreachable or broke the conversation"
    };
    format!("{kind}{code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_smtp_urls_ask_for_starttls_when_offered() {
        assert_eq!(
            with_opportunistic_starttls("smtp://mail:25"),
            "smtp://mail:25?tls=opportunistic"
        );
        assert_eq!(
            with_opportunistic_starttls("smtp://u:p@mail:587?tls=required"),
            "smtp://u:p@mail:587?tls=required"
        );
        assert_eq!(
            with_opportunistic_starttls("smtps://mail:465"),
            "smtps://mail:465"
        );
    }

    #[test]
    fn ports_and_credentials_are_read_from_the_authority() {
        assert!(has_port("smtp://mail:2525"));
        assert!(has_port("smtp://u:p@mail:2525?tls=required"));
        assert!(!has_port("smtp://u:p@mail"));
        assert!(!has_port("smtp://[::1]"));
        assert!(has_port("smtp://[::1]:25"));
        assert!(has_credentials("smtp://u:p@mail"));
        assert!(!has_credentials("smtp://mail:25/ehlo@name"));
    }

    #[test]
    fn every_documented_form_is_accepted_and_others_refused() {
        let from: Mailbox = "gatehouse@localhost".parse().unwrap();
        let timeout = Duration::from_secs(5);
        for ok in [
            "smtp://127.0.0.1:2525",
            "smtp://127.0.0.1:587?tls=required",
            "smtps://mail.example.com:465",
            "smtp://user:p%40ss@mail.example.com:587",
        ] {
            SmtpMailer::new(&SecretString::new(ok), from.clone(), timeout)
                .unwrap_or_else(|e| panic!("{ok}: {e:#}"));
        }
        let err = SmtpMailer::new(
            &SecretString::new("http://user:hunter2@mail"),
            from,
            timeout,
        )
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("AUTH_SMTP_URL"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
