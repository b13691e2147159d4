//! The hashing slots: how many Argon2 computations may run at once, and
//! the working memory each one uses.
//!
//! Every slot owns one working memory, made when the hasher is built and
//! reused by every hash and verification that holds the slot. Memory
//! allocated per call (19 MiB at the default cost) costs page faults on
//! every hash and, with glibc, was kept by the heap after the first free:
//! the process grew by one buffer per concurrent hash and stayed there.
//! With owned memories, hashing memory is `slots × m_cost` by
//! construction, whatever the allocator does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gatehouse_application::ports::HashError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// `M` is a slot's working memory: Argon2's, in the hasher.
#[derive(Debug)]
pub(crate) struct HashingSlots<M> {
    count: usize,
    permits: Arc<Semaphore>,
    /// Callers queued for a slot right now (for `/metrics`).
    waiting: Arc<AtomicUsize>,
    /// Exactly one memory per permit not currently taken.
    memories: Arc<Mutex<Vec<M>>>,
    queue_wait: Duration,
}

/// A held slot: its permit and its memory, both returned on drop.
#[derive(Debug)]
pub(crate) struct Slot<M> {
    _permit: OwnedSemaphorePermit,
    memory: Option<M>,
    home: Arc<Mutex<Vec<M>>>,
}

impl<M> Slot<M> {
    /// # Errors
    /// Never in practice: only `drop` takes the memory out.
    pub(crate) fn memory(&mut self) -> anyhow::Result<&mut M> {
        self.memory
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("a hashing slot without its memory"))
    }
}

impl<M> Drop for Slot<M> {
    fn drop(&mut self) {
        // The memory goes back before the permit is released (fields drop
        // after this body), so a new holder always finds one.
        if let Some(memory) = self.memory.take() {
            self.home
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(memory);
        }
    }
}

/// How busy hashing is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HashingLoad {
    pub in_flight: usize,
    pub waiting: usize,
}

/// One place in the queue, left however the wait ends (a slot, a timeout,
/// or the request dropped).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn join(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::Relaxed);
        Self(waiting)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<M> HashingSlots<M> {
    /// As many slots as `memories`, at least one (made by `make`).
    pub(crate) fn new(count: usize, mut make: impl FnMut() -> M, queue_wait: Duration) -> Self {
        let count = count.max(1);
        let memories = (0..count).map(|_| make()).collect();
        Self {
            count,
            waiting: Arc::new(AtomicUsize::new(0)),
            permits: Arc::new(Semaphore::new(count)),
            memories: Arc::new(Mutex::new(memories)),
            queue_wait,
        }
    }

    /// Waits up to `queue_wait` for a free slot.
    ///
    /// # Errors
    /// `Overloaded` when every slot stayed busy for the whole wait.
    pub(crate) async fn acquire(&self) -> Result<Slot<M>, HashError> {
        let _queued = Queued::join(&self.waiting);
        let permit =
            tokio::time::timeout(self.queue_wait, Arc::clone(&self.permits).acquire_owned())
                .await
                .map_err(|_| HashError::Overloaded {
                    retry_after: Duration::from_secs(1),
                })?
                .map_err(|e| HashError::Unexpected(e.into()))?;
        self.take(permit)
    }

    /// A slot without waiting, for start-up work.
    ///
    /// # Errors
    /// `Overloaded` when every slot is busy.
    pub(crate) fn try_acquire(&self) -> Result<Slot<M>, HashError> {
        let permit =
            Arc::clone(&self.permits)
                .try_acquire_owned()
                .map_err(|_| HashError::Overloaded {
                    retry_after: Duration::from_secs(1),
                })?;
        self.take(permit)
    }

    fn take(&self, permit: OwnedSemaphorePermit) -> Result<Slot<M>, HashError> {
        let memory = self
            .memories
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .ok_or_else(|| {
                HashError::Unexpected(anyhow::anyhow!("hashing slot without its memory"))
            })?;
        Ok(Slot {
            _permit: permit,
            memory: Some(memory),
            home: Arc::clone(&self.memories),
        })
    }

    /// Slots held and callers waiting for one, at this moment.
    pub(crate) fn load(&self) -> HashingLoad {
        HashingLoad {
            in_flight: self.count.saturating_sub(self.permits.available_permits()),
            waiting: self.waiting.load(Ordering::Relaxed),
        }
    }

    #[cfg(test)]
    pub(crate) fn free_memories(&self) -> usize {
        self.memories
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_slot_returns_its_buffer_and_permit_when_dropped() {
        let slots = HashingSlots::new(2, || vec![0u8; 8], Duration::from_millis(50));
        let mut a = slots.acquire().await.unwrap();
        let b = slots.acquire().await.unwrap();
        assert_eq!(a.memory().unwrap().len(), 8);
        assert_eq!(slots.free_memories(), 0);
        assert!(matches!(
            slots.acquire().await.unwrap_err(),
            HashError::Overloaded { .. }
        ));
        assert_eq!(
            slots.load(),
            HashingLoad {
                in_flight: 2,
                waiting: 0
            }
        );
        drop(a);
        drop(b);
        assert_eq!(slots.free_memories(), 2);
        assert_eq!(slots.load(), HashingLoad::default());
        assert!(slots.try_acquire().is_ok());
    }

    #[tokio::test]
    async fn the_same_memories_are_handed_out_again() {
        let slots = HashingSlots::new(1, || vec![0u8; 4], Duration::from_millis(50));
        let first = slots.acquire().await.unwrap().memory().unwrap().as_ptr();
        let again = slots.acquire().await.unwrap().memory().unwrap().as_ptr();
        assert_eq!(first, again);
    }

    #[tokio::test]
    async fn callers_queued_for_a_slot_are_counted_until_they_leave() {
        let slots = Arc::new(HashingSlots::new(
            1,
            || vec![0u8; 4],
            Duration::from_secs(10),
        ));
        let held = slots.acquire().await.unwrap();
        let queued = {
            let slots = Arc::clone(&slots);
            tokio::spawn(async move { slots.acquire().await.map(drop) })
        };
        while slots.load().waiting == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            slots.load(),
            HashingLoad {
                in_flight: 1,
                waiting: 1
            }
        );
        drop(held);
        queued.await.unwrap().unwrap();
        assert_eq!(slots.load(), HashingLoad::default());
        // A caller that gives up (its request dropped) leaves the queue too.
        let held = slots.acquire().await.unwrap();
        let abandoned = {
            let slots = Arc::clone(&slots);
            tokio::spawn(async move { slots.acquire().await.map(drop) })
        };
        while slots.load().waiting == 0 {
            tokio::task::yield_now().await;
        }
        abandoned.abort();
        assert!(abandoned.await.unwrap_err().is_cancelled());
        assert_eq!(slots.load().waiting, 0);
        drop(held);
    }
}
