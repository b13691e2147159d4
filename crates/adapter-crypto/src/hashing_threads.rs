//! The hashing threads: how many Argon2 computations may run at once, and
//! the working memory each one uses.
//!
//! A fixed number of threads (the cores) each own one working memory and
//! take hashes from one queue, back to back. Handing each hash from a
//! semaphore to a task to tokio's blocking pool cost two thread wake-ups in
//! series per hash, and the cores sat idle for 9% of a login load while
//! every slot was taken; a thread that finishes a hash here takes the next
//! one itself. Memory allocated per call (19 MiB at the default cost) costs
//! page faults on every hash and, with glibc, was kept by the heap after
//! the first free; owned memories make hashing memory `threads × m_cost`
//! by construction. A caller whose hash has not started within
//! `queue_wait` is told to come back later, and its hash is skipped.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gatehouse_application::ports::HashError;
use tokio::sync::oneshot;

/// More waiting hashes than this are refused at once: at ~10 ms a hash,
/// no caller would wait for the last of them.
const QUEUE: usize = 4096;

type Job<M> = Box<dyn FnOnce(&mut M) + Send>;

#[derive(Debug, Default)]
struct Counters {
    in_flight: AtomicUsize,
    waiting: AtomicUsize,
}

/// `M` is a thread's working memory: Argon2's, in the hasher.
#[derive(Debug)]
pub(crate) struct HashingThreads<M> {
    jobs: SyncSender<Job<M>>,
    counters: Arc<Counters>,
    queue_wait: Duration,
}

/// How busy hashing is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashingLoad {
    pub in_flight: usize,
    pub waiting: usize,
}

impl<M: Send + 'static> HashingThreads<M> {
    /// Starts `count` threads (at least one), each with a memory from
    /// `make`. They end when the last handle is dropped.
    pub(crate) fn start(
        count: usize,
        make: impl Fn() -> M,
        queue_wait: Duration,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::sync_channel::<Job<M>>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        let counters = Arc::new(Counters::default());
        for n in 0..count.max(1) {
            let (queue, counters, memory) = (Arc::clone(&queue), Arc::clone(&counters), make());
            std::thread::Builder::new()
                .name(format!("gatehouse-hash-{n}"))
                .spawn(move || serve(&queue, &counters, memory))?;
        }
        Ok(Self {
            jobs,
            counters,
            queue_wait,
        })
    }

    /// Runs `work` on a hashing thread with its memory.
    ///
    /// # Errors
    /// `Overloaded` when no thread took it within `queue_wait` (or the
    /// queue is full).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut M) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (started, start) = oneshot::channel::<()>();
        let (reply, answer) = oneshot::channel();
        // The caller's span (its request id) goes along to the thread.
        let span = tracing::Span::current();
        let counters = Arc::clone(&self.counters);
        let job: Job<M> = Box::new(move |memory| {
            // A caller that stopped waiting has its answer already.
            if started.send(()).is_ok() {
                let hashing = InFlight::enter(&counters);
                let done = span.in_scope(|| work(memory));
                drop(hashing);
                let _ = reply.send(done);
            }
        });
        self.counters.waiting.fetch_add(1, Ordering::Relaxed);
        if self.jobs.try_send(job).is_err() {
            self.counters.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(overloaded());
        }
        match tokio::time::timeout(self.queue_wait, start).await {
            Ok(Ok(())) => {}
            Err(_) => return Err(overloaded()),
            Ok(Err(_)) => return Err(stopped()),
        }
        answer.await.map_err(|_| stopped())
    }

    /// Hashes running and callers queued for a thread, at this moment.
    pub(crate) fn load(&self) -> HashingLoad {
        HashingLoad {
            in_flight: self.counters.in_flight.load(Ordering::Relaxed),
            waiting: self.counters.waiting.load(Ordering::Relaxed),
        }
    }
}

fn overloaded() -> HashError {
    HashError::Overloaded {
        retry_after: Duration::from_secs(1),
    }
}

fn stopped() -> HashError {
    HashError::Unexpected(anyhow::anyhow!("a hashing thread stopped mid-hash"))
}

/// One hash running, counted until it ends (or panics).
struct InFlight<'a>(&'a Counters);

impl<'a> InFlight<'a> {
    fn enter(counters: &'a Counters) -> Self {
        counters.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(counters)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn serve<M>(queue: &Mutex<Receiver<Job<M>>>, counters: &Counters, mut memory: M) {
    loop {
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else {
            return;
        };
        counters.waiting.fetch_sub(1, Ordering::Relaxed);
        // A panicking hash fails its caller (its reply is dropped), not
        // the thread.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Holds the only thread until the returned sender is dropped.
    async fn hold(threads: &Arc<HashingThreads<Vec<u8>>>) -> mpsc::Sender<()> {
        let (release, held) = mpsc::channel::<()>();
        let (running, is_running) = oneshot::channel();
        let holder = Arc::clone(threads);
        tokio::spawn(async move {
            holder
                .run(move |_| {
                    let _ = running.send(());
                    let _ = held.recv();
                })
                .await
        });
        is_running.await.unwrap();
        release
    }

    #[tokio::test]
    async fn each_thread_keeps_its_memory() {
        let made = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&made);
        let threads = HashingThreads::start(
            2,
            move || {
                counted.fetch_add(1, Ordering::Relaxed);
                Vec::<u8>::with_capacity(64)
            },
            Duration::from_secs(5),
        )
        .unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20 {
            seen.insert(threads.run(|m| m.as_ptr() as usize).await.unwrap());
        }
        assert!(seen.len() <= 2, "{seen:?}");
        assert_eq!(made.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_hash_not_started_within_the_wait_is_refused_and_skipped() {
        let threads =
            Arc::new(HashingThreads::start(1, Vec::<u8>::new, Duration::from_millis(100)).unwrap());
        let release = hold(&threads).await;
        let ran = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&ran);
        let refused = threads
            .run(move |_| counted.fetch_add(1, Ordering::Relaxed))
            .await;
        assert!(matches!(refused, Err(HashError::Overloaded { .. })));
        assert_eq!(
            threads.load(),
            HashingLoad {
                in_flight: 1,
                waiting: 1
            },
            "the refused hash is still queued, behind the held one"
        );
        drop(release);
        assert_eq!(threads.run(|_| 7).await.unwrap(), 7);
        assert_eq!(ran.load(Ordering::Relaxed), 0, "the refused hash never ran");
        assert_eq!(threads.load(), HashingLoad::default());
    }

    #[tokio::test]
    async fn callers_queued_are_counted_until_their_hash_starts() {
        let threads =
            Arc::new(HashingThreads::start(1, Vec::<u8>::new, Duration::from_secs(10)).unwrap());
        let release = hold(&threads).await;
        let queued = {
            let threads = Arc::clone(&threads);
            tokio::spawn(async move { threads.run(|_| ()).await })
        };
        while threads.load().waiting == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            threads.load(),
            HashingLoad {
                in_flight: 1,
                waiting: 1
            }
        );
        drop(release);
        queued.await.unwrap().unwrap();
        assert_eq!(threads.load(), HashingLoad::default());
    }

    #[tokio::test]
    async fn a_panicking_hash_fails_its_caller_and_the_thread_goes_on() {
        let threads = HashingThreads::start(1, Vec::<u8>::new, Duration::from_secs(5)).unwrap();
        let failed = threads.run(|_| -> u8 { panic!("in the hash") }).await;
        assert!(matches!(failed, Err(HashError::Unexpected(_))));
        assert_eq!(threads.run(|_| 1).await.unwrap(), 1);
    }
}
