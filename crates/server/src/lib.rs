//! The composition root: reads configuration, picks the adapters, wires
//! them into the HTTP application, and runs the command line.

mod background;
pub mod breached;
pub mod config;
#[cfg(all(feature = "postgres", feature = "sqlite"))]
pub mod db_copy;
mod housekeeper;
pub mod mail;
mod metrics;
pub mod startup;
pub mod store;
mod system;
pub mod telemetry;

pub use config::Config;
pub use startup::{Application, GatehousePorts};
