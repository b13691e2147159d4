//! A token bucket per client IP over `/v1/auth/*` (`AUTH_RATE_LIMIT_PER_MIN`),
//! checked before anything else a request does: a refused request costs
//! no parsing, no database and no hashing. One limiter serves every worker.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::client::client_ip;
use crate::problem::ApiError;

/// The shared limiter; `None` in the app data when the limit is off.
#[derive(Clone)]
pub struct AuthRateLimit(Arc<DefaultKeyedRateLimiter<IpAddr>>);

impl std::fmt::Debug for AuthRateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRateLimit")
            .field("clients", &self.0.len())
            .finish()
    }
}

impl AuthRateLimit {
    /// `per_minute` requests a minute per IP, in bursts of up to as many;
    /// `None` for 0 (off).
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        NonZeroU32::new(per_minute)
            .map(|n| Self(Arc::new(RateLimiter::keyed(Quota::per_minute(n)))))
    }

    /// Forgets clients whose buckets are full again, so memory follows the
    /// clients of the last minute, not every client ever seen.
    pub fn forget_idle(&self) {
        self.0.retain_recent();
        self.0.shrink_to_fit();
    }

    fn check(&self, ip: IpAddr) -> Result<(), std::time::Duration> {
        self.0
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

pub async fn limit_auth_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limit = request
        .app_data::<web::Data<AuthRateLimit>>()
        .filter(|_| request.path().starts_with("/v1/auth/"))
        .cloned();
    if let Some(limit) = limit
        && let Some(ip) = client_ip(request.request())
        && let Err(wait) = limit.check(ip)
    {
        let refusal = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            "Too many requests",
            "Too many requests from this address; slow down.",
        )
        .retry_after(wait.as_secs_f64().ceil() as u64);
        let (request, _) = request.into_parts();
        return Ok(ServiceResponse::new(request, refusal.error_response()).map_into_right_body());
    }
    Ok(next.call(request).await?.map_into_left_body())
}
