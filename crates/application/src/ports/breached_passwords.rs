//! Whether a password appears in known breaches, beyond the bundled list
//! of common passwords that the domain's rules already refuse.

use std::future::Future;

use gatehouse_domain::Password;

pub trait BreachedPasswords: Send + Sync {
    /// `true` when the password is known to be breached. A source that
    /// cannot answer says `false` (and logs why): an outage of a breach
    /// list must not stop people from signing up or changing passwords.
    fn is_breached(&self, password: &Password) -> impl Future<Output = bool> + Send;
}
