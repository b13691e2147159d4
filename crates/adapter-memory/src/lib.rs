//! In-memory adapters for fast use-case tests. They honour the same port
//! contracts as the Postgres adapter, transactions included: a unit of work
//! edits a private copy that only `commit` publishes, and holds the store's
//! lock meanwhile, so concurrent units of work are serialised.

mod clock;
mod mailer;
mod store;

pub use clock::FixedClock;
pub use mailer::RecordingMailer;
pub use store::{MemoryStore, MemoryTx};
