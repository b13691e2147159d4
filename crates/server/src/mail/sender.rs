//! The sender: passes of `DeliverMail` on every instance. Instances share
//! the work through the outbox's claims, never sending one mail twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gatehouse_application::Ports;
use gatehouse_application::use_cases::mail::DeliverMail;

use crate::background::Background;

/// Mails sent and given up since start, for metrics.
#[derive(Debug, Default)]
pub struct MailCounters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
}

pub fn spawn_sender<P: Ports>(
    ports: Arc<P>,
    counters: Arc<MailCounters>,
    poll: Duration,
) -> Background {
    let batch = usize::try_from(ports.policy().mail_delivery.batch).unwrap_or(usize::MAX);
    Background::spawn(poll, move || {
        let (ports, counters) = (Arc::clone(&ports), Arc::clone(&counters));
        async move {
            match DeliverMail::new(&*ports).execute().await {
                Ok(report) => {
                    counters
                        .sent
                        .fetch_add(report.sent as u64, Ordering::Relaxed);
                    counters
                        .failed
                        .fetch_add(report.failed as u64, Ordering::Relaxed);
                    // A full batch: more is probably due.
                    report.claimed >= batch
                }
                Err(error) => {
                    tracing::warn!(error = %error, "mail outbox unreachable; will try again");
                    false
                }
            }
        }
    })
}
