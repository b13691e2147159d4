//! A [`Mail`] as an RFC 5322 message: plain text, UTF-8.

use anyhow::Context;
use gatehouse_application::PortError;
use gatehouse_application::ports::Mail;
use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;

/// Builds the message. Errors say nothing of the address: they are logged.
pub(crate) fn build(from: &Mailbox, mail: &Mail) -> Result<Message, PortError> {
    let to: Mailbox =
        mail.to.as_str().parse().map_err(|_| {
            PortError::Unexpected(anyhow::anyhow!("recipient is not a valid mailbox"))
        })?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.expose().to_owned())
        .context("building the message")
        .map_err(PortError::Unexpected)
}

/// `AUTH_MAIL_FROM`, checked at start.
pub fn parse_from(raw: &str) -> anyhow::Result<Mailbox> {
    raw.parse()
        .with_context(|| format!("AUTH_MAIL_FROM must be an email address, got {raw:?}"))
}
