//! A [`Mail`] as an RFC 5322 message: plain text, UTF-8.

use anyhow::Context;
use gatehouse_application::PortError;
use gatehouse_application::ports::Mail;
use lettre::Address;
use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;

/// The recipient, built from the stored address's parts: never parsed as
/// a mailbox, which would read a display name or angle brackets into it,
/// so the mail goes to exactly the account's address.
fn recipient(mail: &Mail) -> Result<Mailbox, PortError> {
    let (user, domain) = mail.to.parts();
    Address::new(user, domain)
        .map(|address| Mailbox::new(None, address))
        .map_err(|_| PortError::Unexpected(anyhow::anyhow!("recipient is not a valid address")))
}

/// Builds the message. Errors say nothing of the address: they are logged.
pub(crate) fn build(from: &Mailbox, mail: &Mail) -> Result<Message, PortError> {
    let to = recipient(mail)?;
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

#[cfg(test)]
mod tests {
    use gatehouse_domain::{Email, SecretString};

    use super::*;

    fn mail_to(address: &str) -> Mail {
        Mail {
            to: Email::parse(address).unwrap(),
            subject: "s".into(),
            body: SecretString::new("b"),
        }
    }

    #[test]
    fn the_recipient_is_exactly_the_stored_address() {
        for address in [
            "ada@example.com",
            "o'brien+x@mail.example.ie",
            "用户@例子.广告",
        ] {
            let to = recipient(&mail_to(address)).unwrap();
            assert_eq!(to.name, None);
            assert_eq!(
                to.email.to_string(),
                Email::parse(address).unwrap().as_str()
            );
        }
    }

    #[test]
    fn the_message_has_one_recipient_header_with_the_address_alone() {
        let from = parse_from("gatehouse@localhost").unwrap();
        let message = build(&from, &mail_to("ada@example.com")).unwrap();
        let headers = String::from_utf8(message.formatted()).unwrap();
        assert!(headers.contains("To: ada@example.com\r\n"), "{headers}");
    }
}
