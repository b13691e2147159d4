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

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::Block;
use gatehouse_application::ports::HashError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug)]
pub(crate) struct HashingSlots {
    permits: Arc<Semaphore>,
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

impl HashingSlots {
    /// Allocates `count` buffers of `blocks` Argon2 blocks each, up front.
    pub(crate) fn new(count: usize, blocks: usize, queue_wait: Duration) -> Self {
        let count = count.max(1);
        let buffers = (0..count).map(|_| vec![Block::default(); blocks]).collect();
        Self {
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
        drop(a);
        drop(b);
        assert_eq!(slots.free_buffers(), 2);
        assert!(slots.try_acquire().is_ok());
    }

    #[tokio::test]
    async fn the_same_buffers_are_handed_out_again() {
        let slots = HashingSlots::new(1, 4, Duration::from_millis(50));
        let first = slots.acquire().await.unwrap().buffer.as_ptr();
        let again = slots.acquire().await.unwrap().buffer.as_ptr();
        assert_eq!(first, again);
    }
}
