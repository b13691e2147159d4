use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use gatehouse_application::PortError;
use gatehouse_application::ports::{Mail, Mailer};

/// Keeps every mail so tests can read them; told to, it refuses them like
/// a transport that is down.
#[derive(Debug, Clone, Default)]
pub struct RecordingMailer {
    sent: Arc<Mutex<Vec<Mail>>>,
    refusing: Arc<AtomicBool>,
}

impl RecordingMailer {
    pub fn sent(&self) -> Vec<Mail> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// While `true`, every send fails with `Unavailable`.
    pub fn refuse(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
    }
}

impl Mailer for RecordingMailer {
    async fn send(&self, mail: Mail) -> Result<(), PortError> {
        if self.refusing.load(Ordering::SeqCst) {
            return Err(PortError::Unavailable(anyhow::anyhow!(
                "test transport refuses"
            )));
        }
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(mail);
        Ok(())
    }
}
