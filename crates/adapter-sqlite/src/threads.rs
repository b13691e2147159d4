//! Where a connection's statements run: the blocking threads of the
//! store's own runtime, whichever runtime asked. diesel-async's default
//! binds each connection to the runtime that opened it (through bb8, often
//! an actix worker's, which ends when the worker does) and blocks in
//! place when a statement's future is dropped (a panic on a worker's
//! current-thread runtime). Here a dropped future only stops waiting: the
//! statement runs to its end on its thread.

use std::error::Error;
use std::future::Future;
use std::pin::Pin;

use diesel_async::sync_connection_wrapper::SpawnBlocking;
use tokio::runtime::Handle;

type Spawned<'a, R> =
    Pin<Box<dyn Future<Output = Result<R, Box<dyn Error + Send + Sync + 'static>>> + Send + 'a>>;

#[derive(Debug, Clone)]
pub(crate) struct StoreThreads(pub(crate) Handle);

impl SpawnBlocking for StoreThreads {
    fn spawn_blocking<'a, R>(&mut self, task: impl FnOnce() -> R + Send + 'static) -> Spawned<'a, R>
    where
        R: Send + 'static,
    {
        let running = self.0.spawn_blocking(task);
        Box::pin(async move { running.await.map_err(|e| Box::new(e) as Box<_>) })
    }

    /// Only for connections made by `establish`, which the store never
    /// calls (it wraps connections it opened itself, with its handle).
    fn get_runtime() -> Self {
        Self(Handle::current())
    }
}
