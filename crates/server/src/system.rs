//! The small adapters that only the composition root needs.

use gatehouse_application::ports::Clock;
use gatehouse_domain::Timestamp;

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}
