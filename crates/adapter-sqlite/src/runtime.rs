//! The store's own runtime: where a store call its caller stopped
//! waiting for finishes (see `runs_to_completion.rs`), where a dropped unit of work
//! rolls back, and where bb8 keeps its pool topped up.

use std::sync::Arc;

use tokio::runtime::{Handle, Runtime};

#[derive(Clone)]
pub(crate) struct StoreRuntime(Arc<Owned>);

struct Owned {
    runtime: Option<Runtime>,
    handle: Handle,
}

impl StoreRuntime {
    pub(crate) fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            // Only glue runs here (the pool, awaiting blocking threads);
            // the statements run on the blocking threads.
            .worker_threads(1)
            .thread_name("gatehouse-sqlite")
            .enable_time()
            .build()?;
        let handle = runtime.handle().clone();
        Ok(Self(Arc::new(Owned {
            runtime: Some(runtime),
            handle,
        })))
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.0.handle
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // The last store may be dropped inside an async context, where a
        // runtime must not wait for its threads.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
