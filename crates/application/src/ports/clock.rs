use gatehouse_domain::Timestamp;

/// The only source of "now" for use cases, so tests can fix time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}
