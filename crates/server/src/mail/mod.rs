//! The mail transports (SMTP, or `.eml` files when no SMTP server is
//! configured) and the sender task that drains the outbox through them.

mod eml_files;
mod message;
mod sender;
mod smtp;

pub use eml_files::EmlFiles;
pub use message::parse_from;
pub use sender::{MailCounters, spawn_sender};
pub use smtp::SmtpMailer;

use gatehouse_application::PortError;
use gatehouse_application::ports::{Mail, Mailer};

/// The transport `AUTH_SMTP_URL` chose.
#[derive(Debug, Clone)]
pub enum MailTransport {
    Smtp(SmtpMailer),
    Files(EmlFiles),
}

impl Mailer for MailTransport {
    async fn send(&self, mail: Mail) -> Result<(), PortError> {
        match self {
            MailTransport::Smtp(smtp) => smtp.send(mail).await,
            MailTransport::Files(files) => files.send(mail).await,
        }
    }
}
