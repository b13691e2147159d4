//! A password hasher that can be held in the middle of a check, so a test
//! can land a change (a reset, "sign out everywhere", a disabling) while a
//! sign-in's hash is being checked: a real interleaving, with no sleeps.

use std::sync::{Arc, Mutex};

use gatehouse_application::ports::{HashError, PasswordHasher, Verified};
use gatehouse_domain::{Password, PasswordHash};
use tokio::sync::oneshot;

#[derive(Debug)]
struct Hold {
    reached: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}

/// Wraps a real hasher. After [`HeldHasher::hold_next_check`], the next
/// `verify` does its work, then waits, until released, before answering.
#[derive(Debug, Clone)]
pub struct HeldHasher<H> {
    inner: H,
    hold: Arc<Mutex<Option<Hold>>>,
}

/// The test's side of a hold.
#[derive(Debug)]
pub struct HeldCheck {
    /// Resolves once the held check has been made and is waiting.
    pub reached: oneshot::Receiver<()>,
    /// Send (or drop) to let the check answer.
    pub release: oneshot::Sender<()>,
}

impl<H> HeldHasher<H> {
    pub fn new(inner: H) -> Self {
        Self {
            inner,
            hold: Arc::new(Mutex::new(None)),
        }
    }

    pub fn hold_next_check(&self) -> HeldCheck {
        let (reached_tx, reached) = oneshot::channel();
        let (release, release_rx) = oneshot::channel();
        *self.hold.lock().unwrap_or_else(|p| p.into_inner()) = Some(Hold {
            reached: reached_tx,
            release: release_rx,
        });
        HeldCheck { reached, release }
    }
}

impl<H: PasswordHasher> PasswordHasher for HeldHasher<H> {
    async fn hash(&self, password: Password) -> Result<PasswordHash, HashError> {
        self.inner.hash(password).await
    }

    async fn verify(
        &self,
        password: Password,
        hash: Option<PasswordHash>,
    ) -> Result<Verified, HashError> {
        let verdict = self.inner.verify(password, hash).await;
        let hold = self.hold.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(hold) = hold {
            let _ = hold.reached.send(());
            let _ = hold.release.await;
        }
        verdict
    }
}
