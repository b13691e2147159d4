//! A token bucket per client network (an IPv4 address, an IPv6 /64) over
//! everything that checks a credential or writes to an account
//! (`AUTH_RATE_LIMIT_PER_MIN`), checked before anything else a request
//! does: a refused request costs no parsing, no database and no hashing.
//! One limiter serves every worker.
//!
//! Which requests it covers is decided on the path as the router decodes
//! it (`/v1/%61uth/login` is `/v1/auth/login`), never on the raw one.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use gatehouse_domain::client_network;
use governor::clock::{Clock, DefaultClock};
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::client::client_ip;
use crate::problem::ApiError;

/// Networks tracked one by one at most; past it, new ones share one
/// bucket until the idle ones are forgotten. Each entry is a few dozen
/// bytes, so this bounds the limiter to a few MiB whatever the number of
/// clients, and a flood of fresh addresses only slows itself.
pub const MAX_TRACKED_NETWORKS: usize = 100_000;

/// Where the networks past [`MAX_TRACKED_NETWORKS`] are counted together:
/// the unspecified address, which no client has.
const CROWD: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

/// One bucket state (governor's "theoretical arrival time") per network,
/// at most `capacity` networks one by one: past that, networks not yet
/// tracked share the [`CROWD`]'s bucket while those tracked keep their own.
#[derive(Debug)]
pub struct BoundedBuckets {
    buckets: DashMap<IpAddr, Nanos>,
    capacity: usize,
}

impl StateStore for BoundedBuckets {
    type Key = IpAddr;

    fn measure_and_replace<T, F, E>(&self, key: &IpAddr, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let key = if self.buckets.len() >= self.capacity && !self.buckets.contains_key(key) {
            CROWD
        } else {
            *key
        };
        // The entry holds its shard's lock: the read and the write of one
        // bucket cannot interleave with another request's.
        match self.buckets.entry(key) {
            Entry::Occupied(mut slot) => {
                let (answer, next) = f(Some(*slot.get()))?;
                *slot.get_mut() = next;
                Ok(answer)
            }
            Entry::Vacant(slot) => {
                let (answer, next) = f(None)?;
                slot.insert(next);
                Ok(answer)
            }
        }
    }
}

impl ShrinkableKeyedStateStore<IpAddr> for BoundedBuckets {
    fn retain_recent(&self, drop_below: Nanos) {
        // A bucket whose arrival time has passed is full again: no
        // different from one never seen.
        self.buckets.retain(|_, at| *at > drop_below);
    }

    fn shrink_to_fit(&self) {
        self.buckets.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.buckets.len()
    }

    fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

/// The shared limiter; absent from the app data when the limit is off.
#[derive(Clone)]
pub struct AuthRateLimit(Arc<RateLimiter<IpAddr, BoundedBuckets, DefaultClock>>);

impl std::fmt::Debug for AuthRateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRateLimit")
            .field("networks", &self.0.len())
            .finish()
    }
}

impl AuthRateLimit {
    /// `per_minute` requests a minute per network, in bursts of up to as
    /// many; `None` for 0 (off).
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        Self::with_capacity(per_minute, MAX_TRACKED_NETWORKS)
    }

    /// As [`Self::per_minute`], tracking at most `capacity` networks.
    pub fn with_capacity(per_minute: u32, capacity: usize) -> Option<Self> {
        let store = BoundedBuckets {
            buckets: DashMap::new(),
            capacity: capacity.max(1),
        };
        NonZeroU32::new(per_minute).map(|n| {
            Self(Arc::new(RateLimiter::new(
                Quota::per_minute(n),
                store,
                DefaultClock::default(),
            )))
        })
    }

    /// Forgets networks whose buckets are full again, so memory follows
    /// the clients of the last minute, not every client ever seen.
    pub fn forget_idle(&self) {
        self.0.retain_recent();
        self.0.shrink_to_fit();
    }

    /// Buckets held now (the shared one included).
    pub fn tracked(&self) -> usize {
        self.0.len()
    }

    /// Takes one request of `ip`'s network from its bucket, or answers how
    /// long until one is there.
    pub fn check(&self, ip: IpAddr) -> Result<(), std::time::Duration> {
        self.0
            .check_key(&client_network(ip))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Whether a request with this method and (decoded) path is counted: the
/// API's authentication endpoints, OAuth, the hosted pages' form posts and
/// every write to the caller's own account.
pub fn is_limited(method: &Method, path: &str) -> bool {
    const SIGN_IN_PAGES: [&str; 7] = [
        "/login",
        "/register",
        "/forgot-password",
        "/reset-password",
        "/verify-email",
        "/confirm-email-change",
        "/account",
    ];
    let under = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    };
    if path.starts_with("/v1/auth/") || path.starts_with("/oauth2/") {
        return true;
    }
    let writes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    writes && (under("/v1/users/me") || SIGN_IN_PAGES.iter().any(|page| under(page)))
}

pub async fn limit_auth_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // `match_info().path()` is the path the router matches: percent
    // escapes of ordinary characters already decoded.
    let limit = request
        .app_data::<web::Data<AuthRateLimit>>()
        .filter(|_| is_limited(request.method(), request.match_info().as_str()))
        .cloned();
    if let Some(limit) = limit
        && let Some(ip) = client_ip(request.request())
        && let Err(wait) = limit.check(ip)
    {
        let refusal = ApiError::rate_limited(wait);
        let (request, _) = request.into_parts();
        return Ok(ServiceResponse::new(request, refusal.error_response()).map_into_right_body());
    }
    Ok(next.call(request).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_credential_endpoint_and_account_write_is_limited() {
        for (method, path) in [
            (Method::POST, "/v1/auth/login"),
            (Method::POST, "/v1/auth/reauth"),
            (Method::GET, "/v1/auth/verify"),
            (Method::POST, "/oauth2/token"),
            (Method::GET, "/oauth2/authorize"),
            (Method::POST, "/login"),
            (Method::POST, "/register"),
            (Method::POST, "/account/password"),
            (Method::PUT, "/v1/users/me/password"),
            (Method::POST, "/v1/users/me/api-keys"),
            (Method::DELETE, "/v1/users/me"),
            (Method::PATCH, "/v1/users/me"),
        ] {
            assert!(is_limited(&method, path), "{method} {path}");
        }
        for (method, path) in [
            (Method::GET, "/v1/users/me"),
            (Method::GET, "/v1/users/me/sessions"),
            (Method::GET, "/login"),
            (Method::GET, "/health/live"),
            (Method::POST, "/v1/users/meow"),
            (Method::POST, "/loginx"),
            (Method::GET, "/v1/admin/users"),
        ] {
            assert!(!is_limited(&method, path), "{method} {path}");
        }
    }

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn an_ipv6_network_shares_one_bucket() {
        let limit = AuthRateLimit::per_minute(2).unwrap();
        assert!(limit.check(ip("2001:db8:1:2::1")).is_ok());
        assert!(limit.check(ip("2001:db8:1:2::2")).is_ok());
        assert!(limit.check(ip("2001:db8:1:2:ffff::3")).is_err());
        assert!(limit.check(ip("2001:db8:1:3::1")).is_ok(), "another /64");
    }

    #[test]
    fn memory_is_bounded_and_tracked_networks_keep_their_own_bucket() {
        let limit = AuthRateLimit::with_capacity(3, 100).unwrap();
        let known = ip("198.51.100.1");
        assert!(limit.check(known).is_ok());
        for n in 0..5_000u32 {
            let _ = limit.check(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n)));
        }
        assert!(limit.tracked() <= 101, "{} buckets", limit.tracked());
        // The crowd's bucket is long empty; the known network's is not.
        assert!(limit.check(ip("192.0.2.200")).is_err());
        assert!(limit.check(known).is_ok());
        assert!(limit.check(known).is_ok());
        assert!(limit.check(known).is_err());
    }
}
