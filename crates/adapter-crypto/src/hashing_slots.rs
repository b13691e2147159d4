//! The hashing slots: how many Argon2 computations may run at once, and
//! the working memory each one uses.
//!
//! Every slot owns one Argon2 block buffer, allocated once when the hasher
//! is built and reused by every hash and verification that holds the slot.
//! Letting argon2 allocate per call (19 MiB at the default cost) looked
//! harmless, but glibc raises its mmap threshold after the first such free,
//! so later buffers come from the heap and are never given back: the
//! process grew by one buffer per concurrent hash and stayed there. With
//! owned buffers, hashing memory is `slots × m_cost` by construction,
//! whatever the allocator does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::Block;
use gatehouse_application::ports::HashError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
pub(crate) struct HashingSlots {
    count: usize,
    permits: Arc<Semaphore>,
    /// Callers queued for a slot right now (for `/metrics`).
    waiting: Arc<AtomicUsize>,
    /// Exactly one buffer per permit not currently taken.
    buffers: Arc<Mutex<Vec<Vec<Block>>>>,
    queue_wait: Duration,
}

/// A held slot: its permit and its buffer, both returned on drop.
#[derive(Debug)]
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    buffer: Vec<Block>,
    home: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Slot {
    pub(crate) fn memory(&mut self) -> &mut [Block] {
        &mut self.buffer
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // The buffer goes back before the permit is released (fields drop
        // after this body), so a new holder always finds one.
        let buffer = std::mem::take(&mut self.buffer);
        self.home
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(buffer);
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

impl HashingSlots {
    /// Allocates `count` buffers of `blocks` Argon2 blocks each, up front.
    pub(crate) fn new(count: usize, blocks: usize, queue_wait: Duration) -> Self {
        let count = count.max(1);
        let buffers = (0..count).map(|_| vec![Block::default(); blocks]).collect();
        Self {
            count,
            waiting: Arc::new(AtomicUsize::new(0)),
            permits: Arc::new(Semaphore::new(count)),
            buffers: Arc::new(Mutex::new(buffers)),
            queue_wait,
        }
    }

    /// Waits up to `queue_wait` for a free slot.
    ///
    /// # Errors
    /// `Overloaded` when every slot stayed busy for the whole wait.
    pub(crate) async fn acquire(&self) -> Result<Slot, HashError> {
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
    pub(crate) fn try_acquire(&self) -> Result<Slot, HashError> {
        let permit =
            Arc::clone(&self.permits)
                .try_acquire_owned()
                .map_err(|_| HashError::Overloaded {
                    retry_after: Duration::from_secs(1),
                })?;
        self.take(permit)
    }

    fn take(&self, permit: OwnedSemaphorePermit) -> Result<Slot, HashError> {
        let buffer = self
            .buffers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .ok_or_else(|| {
                HashError::Unexpected(anyhow::anyhow!("hashing slot without a buffer"))
            })?;
        Ok(Slot {
            _permit: permit,
            buffer,
            home: Arc::clone(&self.buffers),
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
    pub(crate) fn free_buffers(&self) -> usize {
        self.buffers
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
        let slots = HashingSlots::new(2, 8, Duration::from_millis(50));
        let mut a = slots.acquire().await.unwrap();
        let b = slots.acquire().await.unwrap();
        assert_eq!(a.memory().len(), 8);
        assert_eq!(slots.free_buffers(), 0);
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
        assert_eq!(slots.free_buffers(), 2);
        assert_eq!(slots.load(), HashingLoad::default());
        assert!(slots.try_acquire().is_ok());
    }

    #[tokio::test]
    async fn the_same_buffers_are_handed_out_again() {
        let slots = HashingSlots::new(1, 4, Duration::from_millis(50));
        let first = slots.acquire().await.unwrap().buffer.as_ptr();
        let again = slots.acquire().await.unwrap().buffer.as_ptr();
        assert_eq!(first, again);
    }

    #[tokio::test]
    async fn callers_queued_for_a_slot_are_counted_until_they_leave() {
        let slots = Arc::new(HashingSlots::new(1, 4, Duration::from_secs(10)));
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
