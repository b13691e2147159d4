//! Work that runs beside the HTTP server on every instance: the mail
//! sender and the housekeeper. Each is a loop of passes; a pass that says
//! more work is waiting is followed at once by the next, otherwise the
//! loop sleeps for its interval. Stopping lets the pass in progress finish.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug)]
pub struct Background {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Background {
    /// Runs `pass` until stopped. `pass` answers whether more work waits.
    pub fn spawn<F, Fut>(interval: Duration, mut pass: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = bool> + Send,
    {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let more = pass().await;
                if *stopped.borrow() {
                    break;
                }
                if !more {
                    tokio::select! {
                        () = tokio::time::sleep(interval) => {}
                        _ = stopped.changed() => break,
                    }
                }
            }
        });
        Self { stop, task }
    }

    /// Asks the loop to stop, and waits up to `grace` for the pass in
    /// progress; past that it is cut off.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
    }
}
