//! Checking a bearer access token. No store: the signature and claims are
//! the whole proof, which keeps this off the database on every request.

use gatehouse_domain::Timestamp;

use crate::ports::{AccessClaims, AccessTokenError, Clock, Ports, TokenIssuer};

#[derive(Debug)]
pub struct Authenticate<'a, P: Ports> {
    ports: &'a P,
}

impl<'a, P: Ports> Authenticate<'a, P> {
    pub fn new(ports: &'a P) -> Self {
        Self { ports }
    }

    /// # Errors
    /// `Expired` or `Invalid`, as the token issuer decides.
    pub fn execute(&self, bearer: &str) -> Result<AccessClaims, AccessTokenError> {
        let now: Timestamp = self.ports.clock().now();
        self.ports.tokens().verify(bearer, now)
    }
}
