//! The store's one writer: a thread that owns the write connection and
//! runs every write, back to back, in the order they came. SQLite lets one
//! connection write at a time; with writes spread over pooled connections
//! each one waited for a turn, then for a blocking thread to wake, and the
//! lock sat free in between (refresh reached a third of SQLite's bare
//! rotation rate). Here the next write is already on the thread when the
//! last one commits: callers wait on a channel, the writer never does.
//!
//! A unit of work takes the writer for its whole transaction: its steps
//! come over a channel of their own, and the writer rolls back if none
//! comes within the query timeout or the unit is dropped.
//! Another process writing the file (a backup, the `sqlite3` shell) is
//! still waited for by `busy_timeout`, and a write that waits too long
//! fails as SQLITE_BUSY, like any other.

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::result::QueryResult;
use diesel::{Connection, SqliteConnection};
use gatehouse_application::PortError;
use tokio::sync::oneshot;

use crate::error::Failed;

/// Writes waiting beyond this many are refused at once (503), rather than
/// queued for longer than any caller would wait.
const QUEUE: usize = 4096;

type Job = Box<dyn FnOnce(&mut Connected) + Send>;

/// The write connection, opened on first use and again after it failed to
/// open (a file that was missing, or a full disk, may come back).
pub(crate) struct Connected {
    conn: Option<SqliteConnection>,
    path: PathBuf,
    settings: String,
    /// How long a unit of work may leave the writer idle between steps.
    step_patience: Duration,
}

impl Connected {
    fn get(&mut self) -> Result<&mut SqliteConnection, Failed> {
        if self.conn.is_none() {
            let mut conn = SqliteConnection::establish(&self.path.to_string_lossy())
                .map_err(|e| Failed::Port(PortError::Unavailable(e.into())))?;
            conn.batch_execute(&self.settings).map_err(Failed::Db)?;
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or_else(|| {
            Failed::Port(PortError::Unexpected(anyhow::anyhow!(
                "the write connection is gone"
            )))
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Writer {
    jobs: SyncSender<Job>,
}

impl Writer {
    /// Starts the writer thread; it ends when the last store clone is
    /// dropped (and the queue has run dry).
    pub(crate) fn start(
        path: PathBuf,
        settings: String,
        step_patience: Duration,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE);
        let mut connected = Connected {
            conn: None,
            path,
            settings,
            step_patience,
        };
        std::thread::Builder::new()
            .name("gatehouse-sqlite-writer".into())
            .spawn(move || {
                for job in queue {
                    let ran = panic::catch_unwind(AssertUnwindSafe(|| job(&mut connected)));
                    if ran.is_err() {
                        // Maybe mid-transaction: a new connection starts clean.
                        connected.conn = None;
                    }
                }
            })?;
        Ok(Self { jobs })
    }

    fn submit(&self, job: Job) -> Result<(), Failed> {
        self.jobs.try_send(job).map_err(|e| {
            let why = match e {
                TrySendError::Full(_) => "the SQLite write queue is full",
                TrySendError::Disconnected(_) => "the SQLite writer has stopped",
            };
            Failed::Port(PortError::Unavailable(anyhow::anyhow!(why)))
        })
    }

    /// Runs `work` on the write connection. A caller that stopped waiting
    /// before its turn came is skipped (its answer was already "try
    /// again"); one whose work has begun is finished, and committed if the
    /// work commits.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut SqliteConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, Failed> {
        let (reply, answer) = oneshot::channel();
        self.submit(Box::new(move |connected| {
            if reply.is_closed() {
                return;
            }
            let done = connected
                .get()
                .and_then(|conn| work(conn).map_err(Failed::Db));
            let _ = reply.send(done);
        }))?;
        answer.await.map_err(|_| stopped())?
    }

    /// Begins a unit of work (`BEGIN IMMEDIATE`) and answers the channel
    /// its steps go to.
    pub(crate) async fn begin(&self) -> Result<Steps, Failed> {
        let (reply, answer) = oneshot::channel();
        self.submit(Box::new(move |connected| {
            if reply.is_closed() {
                return;
            }
            let patience = connected.step_patience;
            let conn = match connected.get() {
                Ok(conn) => conn,
                Err(e) => {
                    let _ = reply.send(Err(e));
                    return;
                }
            };
            if let Err(e) = conn.batch_execute("BEGIN IMMEDIATE") {
                let _ = reply.send(Err(Failed::Db(e)));
                return;
            }
            let (steps, incoming) = mpsc::channel();
            if reply.send(Ok(Steps(steps))).is_err() {
                // The caller left while the transaction began.
                let _ = conn.batch_execute("ROLLBACK");
                return;
            }
            serve_unit(conn, &incoming, patience);
        }))?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> Failed {
    Failed::Port(PortError::Unavailable(anyhow::anyhow!(
        "the SQLite writer dropped the call"
    )))
}

pub(crate) enum Step {
    Run(Box<dyn FnOnce(&mut SqliteConnection) + Send>),
    /// `COMMIT` or `ROLLBACK`, and where to say how it went.
    End(&'static str, oneshot::Sender<Result<(), Failed>>),
}

/// The open unit of work's steps; dropping it rolls the unit back.
#[derive(Debug)]
pub(crate) struct Steps(mpsc::Sender<Step>);

impl Steps {
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut SqliteConnection) -> QueryResult<T> + Send + 'static,
    ) -> Result<T, Failed> {
        let (reply, answer) = oneshot::channel();
        self.0
            .send(Step::Run(Box::new(move |conn| {
                let _ = reply.send(work(conn).map_err(Failed::Db));
            })))
            .map_err(|_| ended())?;
        answer.await.map_err(|_| ended())?
    }

    pub(crate) async fn end(self, sql: &'static str) -> Result<(), Failed> {
        let (reply, answer) = oneshot::channel();
        self.0.send(Step::End(sql, reply)).map_err(|_| ended())?;
        answer.await.map_err(|_| ended())?
    }
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Run(_) => "Run",
            Step::End(sql, _) => sql,
        })
    }
}

fn ended() -> Failed {
    Failed::Port(PortError::Unavailable(anyhow::anyhow!(
        "the unit of work has ended (rolled back)"
    )))
}

/// Runs a unit of work's steps until it ends; rolls back when it is
/// dropped, or idle past `patience` (a stalled holder must not keep every
/// other write waiting).
fn serve_unit(conn: &mut SqliteConnection, incoming: &Receiver<Step>, patience: Duration) {
    loop {
        match incoming.recv_timeout(patience) {
            Ok(Step::Run(step)) => step(conn),
            Ok(Step::End(sql, reply)) => {
                let ended = conn.batch_execute(sql).map_err(Failed::Db);
                if ended.is_err() {
                    // A failed COMMIT may leave the transaction open.
                    let _ = conn.batch_execute("ROLLBACK");
                }
                let _ = reply.send(ended);
                return;
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                let _ = conn.batch_execute("ROLLBACK");
                return;
            }
        }
    }
}
