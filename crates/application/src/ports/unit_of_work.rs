//! Units of work, for use cases that decide between statements (see
//! docs/architecture.md, "Writes").
//!
//! A use case opens one with [`Transactional::begin`], writes through the
//! area traits the unit of work implements ([`super::SessionTx`],
//! [`super::AuditTx`], [`super::OutboxTx`]), and ends it in one place: `commit`, or
//! `rollback` when it decides against its writes. An error that returns
//! early drops the unit of work, which also rolls back, so a failed use
//! case never leaves half its writes behind. Never hold one across an
//! Argon2 hash or any other slow work: it holds row locks.

use std::future::Future;

use super::{AuditTx, OutboxTx, PortError, SessionTx};

pub trait UnitOfWork: Send {
    /// # Errors
    /// `Unavailable` when the commit cannot be confirmed; then nothing of
    /// the unit of work may be assumed to have happened.
    fn commit(self) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Undoes everything done through this unit of work and releases its
    /// locks. Dropping it without `commit` MUST have the same effect.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached; the writes are
    /// undone all the same, since they were never committed.
    fn rollback(self) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// A store that opens units of work spanning its areas.
pub trait Transactional: Send + Sync {
    type Tx: UnitOfWork + SessionTx + AuditTx + OutboxTx;

    /// # Errors
    /// `Unavailable` when the store cannot be reached.
    fn begin(&self) -> impl Future<Output = Result<Self::Tx, PortError>> + Send;
}
