//! The sender task: one per instance, it drains the outbox in passes
//! (`DeliverMail`). A full batch is followed at once by the next pass;
//! otherwise it waits for the poll interval. Instances share the work
//! through the outbox's claims, never sending one mail twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gatehouse_application::Ports;
use gatehouse_application::use_cases::mail::DeliverMail;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Mails sent and given up since start, for metrics.
#[derive(Debug, Default)]
pub struct MailCounters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
}

/// A running sender; `stop` lets the pass in progress finish.
#[derive(Debug)]
pub struct SenderHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl SenderHandle {
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
    }
}

pub fn spawn_sender<P: Ports>(
    ports: P,
    counters: Arc<MailCounters>,
    poll: Duration,
) -> SenderHandle {
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let batch = usize::try_from(ports.policy().mail_delivery.batch).unwrap_or(usize::MAX);
        loop {
            let full = match DeliverMail::new(&ports).execute().await {
                Ok(report) => {
                    counters
                        .sent
                        .fetch_add(report.sent as u64, Ordering::Relaxed);
                    counters
                        .failed
                        .fetch_add(report.failed as u64, Ordering::Relaxed);
                    report.claimed >= batch
                }
                Err(error) => {
                    tracing::warn!(error = %error, "mail outbox unreachable; will try again");
                    false
                }
            };
            if *stopped.borrow() {
                break;
            }
            if !full {
                tokio::select! {
                    () = tokio::time::sleep(poll) => {}
                    _ = stopped.changed() => break,
                }
            }
        }
    });
    SenderHandle { stop, task }
}
