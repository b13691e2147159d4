//! The test doubles every crate's tests share: a clock that moves only when
//! told to, a hasher a test can hold mid-check, a breach list of the test's choosing, a mailer that keeps what it was given, and an SMTP server that
//! keeps what it receives. One home, so the
//! use-case, adapter and HTTP tests cannot drift apart in what "now" or
//! "sent" means. Only ever a dev-dependency.

mod breaches;
mod clock;
mod held_hasher;
mod mailer;
mod smtp_sink;

pub use breaches::BreachList;
pub use clock::FixedClock;
pub use held_hasher::{HeldCheck, HeldHasher};
pub use mailer::RecordingMailer;
pub use smtp_sink::{ReceivedMail, SmtpSink};
