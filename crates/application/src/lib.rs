//! Use cases and the ports they need. Nothing here knows HTTP, SQL, a
//! crypto library or an async runtime: adapters plug into the traits in
//! [`ports`], and the composition root picks which.

// Security code fails with an error, never a crash (tests may still unwrap).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(feature = "contract-tests")]
pub mod contract;
pub mod policy;
pub mod ports;
pub mod use_cases;

pub use policy::AuthPolicy;
pub use ports::{Adapters, PortError, Ports};
