//! Logging to standard output: `RUST_LOG` filters (default `info`),
//! `AUTH_LOG_FORMAT=json` (or the older `LOG_FORMAT`) for
//! machine-readable lines.
//!
//! Lines are handed to a writer thread instead of being written by the
//! request's own thread: one unbuffered write per request line cost a
//! quarter of `/v1/users/me`'s throughput. The writer thread batches what
//! has queued up and flushes whenever the queue runs dry, so lines still
//! appear at once on a quiet service. Under a flood that outruns the
//! output, lines are dropped rather than stalling requests (the audit log,
//! in the database, is where security events are kept).

use std::io::IsTerminal;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Installs the subscriber. Keep the guard until exit: dropping it flushes
/// the lines still queued.
pub fn init() -> WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = ["AUTH_LOG_FORMAT", "LOG_FORMAT"]
        .iter()
        .find_map(|name| std::env::var(name).ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("json"));
    // Colour codes only for a person at a terminal, never into log files.
    let ansi = std::io::stdout().is_terminal();
    let (writer, guard) =
        tracing_appender::non_blocking(std::io::BufWriter::new(std::io::stdout()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    // A second init (tests) is harmless; ignore it.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
    guard
}
