//! Without an SMTP server, each mail becomes an `.eml` file under
//! `AUTH_MAIL_DIR`, so that a developer can open it and click its link.
//! Files are readable by their owner only: they hold single-use links.
//! The log names the file, never its content.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use gatehouse_application::PortError;
use gatehouse_application::ports::{Mail, Mailer};
use lettre::message::Mailbox;

use super::message;

#[derive(Debug, Clone)]
pub struct EmlFiles {
    dir: PathBuf,
    from: Mailbox,
}

impl EmlFiles {
    pub fn new(dir: PathBuf, from: Mailbox) -> Self {
        Self { dir, from }
    }
}

impl Mailer for EmlFiles {
    async fn send(&self, mail: Mail) -> Result<(), PortError> {
        let bytes = message::build(&self.from, &mail)?.formatted();
        let dir = self.dir.clone();
        let name = format!(
            "{}-{}.eml",
            chrono::Utc::now().format("%Y%m%dT%H%M%S"),
            uuid::Uuid::now_v7()
        );
        let path = tokio::task::spawn_blocking(move || write_private(&dir, &name, &bytes))
            .await
            .map_err(|e| PortError::Unexpected(e.into()))?
            .map_err(PortError::Unavailable)?;
        tracing::info!(file = %path.display(), to = %mail.to.masked(), "mail written as a file (no AUTH_SMTP_URL)");
        Ok(())
    }
}

fn write_private(dir: &std::path::Path, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating AUTH_MAIL_DIR {}", dir.display()))?;
    let path = dir.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
