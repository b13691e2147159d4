//! The in-memory store for fast use-case tests. It honours the same port
//! contracts as the Postgres adapter, transactions included: a unit of work
//! edits a private copy that only `commit` publishes, and holds the store's
//! lock meanwhile, so concurrent units of work are serialised. The clock and
//! mail doubles live in `gatehouse-testkit`.

mod account_tokens;
mod admin;
mod api_keys;
mod housekeeping;
mod login_throttle;
mod mfa;
mod outbox;
mod store;

pub use outbox::QueuedMail;
pub use store::{MemoryStore, MemoryTx};
