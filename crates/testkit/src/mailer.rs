use std::sync::{Arc, Mutex, PoisonError};

use gatehouse_application::PortError;
use gatehouse_application::ports::{Mail, Mailer};

/// Keeps every mail so tests can read them.
#[derive(Debug, Clone, Default)]
pub struct RecordingMailer(Arc<Mutex<Vec<Mail>>>);

impl RecordingMailer {
    pub fn sent(&self) -> Vec<Mail> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Mailer for RecordingMailer {
    async fn send(&self, mail: Mail) -> Result<(), PortError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(mail);
        Ok(())
    }
}
