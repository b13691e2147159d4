//! The test doubles every crate's tests share: a clock that moves only when
//! told to and a mailer that keeps what it was given. One home, so the
//! use-case, adapter and HTTP tests cannot drift apart in what "now" or
//! "sent" means. Only ever a dev-dependency.

mod clock;
mod mailer;

pub use clock::FixedClock;
pub use mailer::RecordingMailer;
