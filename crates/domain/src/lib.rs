//! The vocabulary of Gatehouse: values that cannot be invalid once made
//! (`Email`, `Password`), the records the rest of the system passes around,
//! and the pure rules (what a refresh-token presentation means) that take
//! `now` as an argument instead of reading a clock.

// Security code fails with an error, never a crash (tests may still unwrap).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod amr;
pub mod audit;
pub mod client;
pub mod email;
pub mod ids;
pub mod network;
pub mod password;
pub mod profile;
pub mod refresh;
pub mod secret;
pub mod user;

pub use amr::{Amr, AuthMethod};
pub use audit::{AuditEvent, AuditKind};
pub use client::ClientInfo;
pub use email::{Email, EmailError};
pub use ids::{SessionId, UserId};
pub use network::{client_network, client_network_of};
pub use password::{Password, PasswordError, PasswordHash, PasswordRules};
pub use profile::{DisplayName, Metadata, ProfileError};
pub use refresh::{Presentation, PresentedToken};
pub use secret::SecretString;
pub use user::{Role, User};

/// Every instant in the system is UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
