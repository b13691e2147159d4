//! A store call that, if its caller stops waiting, finishes on the
//! store's runtime instead of where it was dropped. diesel-async's
//! `SyncConnectionWrapper` blocks in place when a statement's future is
//! dropped half-way, which panics on a current-thread runtime such as an
//! actix worker's; handing the rest of the future to the store's
//! multi-threaded runtime lets the statement end there, and the pooled
//! connection go back to the pool afterwards. Calls that complete (nearly
//! all) never leave the caller's thread except for the statement itself.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::runtime::Handle;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pub(crate) struct RunsToCompletion<T: Send + 'static> {
    rest: Option<BoxFuture<T>>,
    runtime: Handle,
}

impl<T: Send + 'static> RunsToCompletion<T> {
    pub(crate) fn new(runtime: Handle, work: impl Future<Output = T> + Send + 'static) -> Self {
        Self {
            rest: Some(Box::pin(work)),
            runtime,
        }
    }
}

impl<T: Send + 'static> Future for RunsToCompletion<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let Some(rest) = self.rest.as_mut() else {
            return Poll::Pending;
        };
        let polled = rest.as_mut().poll(cx);
        if polled.is_ready() {
            self.rest = None;
        }
        polled
    }
}

impl<T: Send + 'static> Drop for RunsToCompletion<T> {
    fn drop(&mut self) {
        if let Some(rest) = self.rest.take() {
            drop(self.runtime.spawn(rest));
        }
    }
}
