//! Deleting what the contract says must not be kept. Every instance runs
//! the sweep; each step takes a small batch of rows that no other sweep
//! holds (`SKIP LOCKED` or the like), so instances share the work and none
//! waits for another.

use std::future::Future;

use gatehouse_domain::Timestamp;

use super::PortError;

/// One batch of each kind of sweep, with the cut-off instants.
#[derive(Debug, Clone, Copy)]
pub struct Sweep {
    /// Rotated tokens older than this lose the successor they kept for
    /// grace replays: the grace is over, and the ciphertext must not
    /// outlive it.
    pub grace_over_before: Timestamp,
    /// Rotated tokens whose own idle expiry is before this are deleted: a
    /// live session keeps a bounded number of rows, and a token that old
    /// is unknown rather than reused.
    pub rotated_expired_before: Timestamp,
    /// Sessions that ended (revoked, or past their absolute end) before
    /// this are deleted with their tokens.
    pub sessions_ended_before: Timestamp,
    /// Reset and verification tokens that are used or expired at `now`
    /// and were made before this are deleted (the hourly limit counts
    /// recent ones, so they stay an hour).
    pub links_made_before: Timestamp,
    pub now: Timestamp,
    /// Audit events before this are deleted.
    pub audit_before: Timestamp,
    /// Mails queued before this and already sent or given up are deleted.
    pub mail_queued_before: Timestamp,
    /// Failed-login counters untouched since this, and not locked out at
    /// `now`, are forgotten.
    pub throttles_idle_before: Timestamp,
    /// API keys revoked, or expired, before this are deleted.
    pub keys_ended_before: Timestamp,
    /// At most this many rows per kind and call.
    pub batch: u32,
}

/// How many rows each kind of sweep touched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub successors_erased: u64,
    pub rotated_tokens_deleted: u64,
    pub sessions_deleted: u64,
    pub links_deleted: u64,
    pub audit_events_deleted: u64,
    pub mails_deleted: u64,
    pub throttles_deleted: u64,
    pub keys_deleted: u64,
}

impl Swept {
    fn counts(&self) -> [u64; 8] {
        [
            self.successors_erased,
            self.rotated_tokens_deleted,
            self.sessions_deleted,
            self.links_deleted,
            self.audit_events_deleted,
            self.mails_deleted,
            self.throttles_deleted,
            self.keys_deleted,
        ]
    }

    pub fn total(&self) -> u64 {
        self.counts().iter().sum()
    }

    /// Whether any kind filled its batch (more may be waiting).
    pub fn any_full(&self, batch: u32) -> bool {
        self.counts().iter().any(|n| *n >= u64::from(batch))
    }

    /// This pass's counts added to `self`'s.
    pub fn add(&mut self, other: Swept) {
        self.successors_erased += other.successors_erased;
        self.rotated_tokens_deleted += other.rotated_tokens_deleted;
        self.sessions_deleted += other.sessions_deleted;
        self.links_deleted += other.links_deleted;
        self.audit_events_deleted += other.audit_events_deleted;
        self.mails_deleted += other.mails_deleted;
        self.throttles_deleted += other.throttles_deleted;
        self.keys_deleted += other.keys_deleted;
    }
}

pub trait Housekeeping: Send + Sync {
    /// One batch of each kind, as [`Sweep`] describes.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn sweep(&self, sweep: Sweep) -> impl Future<Output = Result<Swept, PortError>> + Send;
}
