//! The unit of work: it holds the writer inside `BEGIN IMMEDIATE`, and so
//! the database's write lock, until `commit` or `rollback`: that is what
//! keeps a family from forking. Dropped without either, it rolls back.

use std::time::Duration;

use diesel::{QueryResult, SqliteConnection};
use gatehouse_application::PortError;
use gatehouse_application::ports::{
    AuditTx, OutboxTx, OutgoingMail, RevokeReason, Rotation, SessionTx, StoredToken, TokenDigest,
    Transactional, UnitOfWork,
};
use gatehouse_domain::{AuditEvent, SessionId, Timestamp};

use crate::SqliteStore;
use crate::error::{Failed, bounded};
use crate::rotation::{apply, stored_token};
use crate::sessions::revoke_one;
use crate::writer::Steps;
use crate::writes::{enqueue, insert_audit};

/// A unit of work: the writer inside `BEGIN IMMEDIATE` (see `writer.rs`).
pub struct SqliteTx {
    steps: Option<Steps>,
    query_timeout: Duration,
}

impl std::fmt::Debug for SqliteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTx")
            .field("open", &self.steps.is_some())
            .finish_non_exhaustive()
    }
}

impl SqliteTx {
    async fn run<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&mut SqliteConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, PortError> {
        let Some(steps) = self.steps.as_ref() else {
            return Err(PortError::Unexpected(anyhow::anyhow!(
                "the unit of work has ended"
            )));
        };
        bounded(self.query_timeout, steps.run(work))
            .await
            .map_err(Failed::into_port)
    }

    async fn finish(mut self, sql: &'static str) -> Result<(), PortError> {
        let Some(steps) = self.steps.take() else {
            return Ok(());
        };
        bounded(self.query_timeout, steps.end(sql))
            .await
            .map_err(Failed::into_port)
    }
}

impl Transactional for SqliteStore {
    type Tx = SqliteTx;

    /// Dropped without `commit` or `rollback`, the unit's channel closes
    /// and the writer rolls it back.
    async fn begin(&self) -> Result<SqliteTx, PortError> {
        let steps = bounded(self.query_timeout, self.writer.begin())
            .await
            .map_err(Failed::into_port)?;
        Ok(SqliteTx {
            steps: Some(steps),
            query_timeout: self.query_timeout,
        })
    }
}

impl SessionTx for SqliteTx {
    async fn lock_token(&mut self, digest: &TokenDigest) -> Result<Option<StoredToken>, PortError> {
        let digest = digest.0.clone();
        self.run(move |c| stored_token(c, &digest)).await
    }

    async fn rotate(&mut self, rotation: Rotation) -> Result<(), PortError> {
        if self.run(move |c| apply(c, &rotation)).await? {
            Ok(())
        } else {
            Err(PortError::Conflict(anyhow::anyhow!(
                "the token was rotated already"
            )))
        }
    }

    async fn revoke_session(
        &mut self,
        session_id: SessionId,
        at: Timestamp,
        reason: RevokeReason,
    ) -> Result<(), PortError> {
        self.run(move |c| revoke_one(c, session_id, at, reason))
            .await
    }
}

impl AuditTx for SqliteTx {
    async fn record(&mut self, event: AuditEvent) -> Result<(), PortError> {
        self.run(move |c| insert_audit(c, &event)).await
    }
}

impl OutboxTx for SqliteTx {
    async fn enqueue(&mut self, mail: OutgoingMail) -> Result<(), PortError> {
        self.run(move |c| enqueue(c, &mail)).await
    }
}

impl UnitOfWork for SqliteTx {
    async fn commit(self) -> Result<(), PortError> {
        self.finish("COMMIT").await
    }

    async fn rollback(self) -> Result<(), PortError> {
        self.finish("ROLLBACK").await
    }
}
