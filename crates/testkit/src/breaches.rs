//! A breach list the test chooses, and that counts how often it was asked.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gatehouse_application::ports::BreachedPasswords;
use gatehouse_domain::Password;

#[derive(Debug, Clone, Default)]
pub struct BreachList {
    breached: Arc<HashSet<String>>,
    asked: Arc<AtomicUsize>,
}

impl BreachList {
    /// No password is breached (the domain's bundled list still applies).
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    #[must_use]
    pub fn of(passwords: &[&str]) -> Self {
        Self {
            breached: Arc::new(passwords.iter().map(|p| (*p).to_owned()).collect()),
            asked: Arc::default(),
        }
    }

    /// How many checks were made.
    #[must_use]
    pub fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

impl BreachedPasswords for BreachList {
    async fn is_breached(&self, password: &Password) -> bool {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.breached.contains(password.expose())
    }
}
