//! The HTTP face of Gatehouse on actix-web: request bodies (serde + garde),
//! mapping use-case errors to RFC 9457 problems with stable codes, bearer
//! authentication, the client IP behind trusted proxies, the per-IP rate
//! limit, request logging and metrics, health checks and the OpenAPI
//! document
//! generated from the handlers. Generic over the application's `Ports`, so
//! it never learns which adapters are behind them.

mod app;
mod bearer;
mod body;
mod client;
mod metrics;
mod openapi;
mod problem;
#[cfg(test)]
mod problem_catalogue;
mod problem_code;
mod rate_limit;
mod request_log;
mod routes;

pub use app::{HttpSettings, build_app};
pub use client::TrustedProxies;
pub use metrics::Metrics;
pub use openapi::openapi_json;
pub use problem::{ApiError, FieldError};
pub use rate_limit::AuthRateLimit;
pub use routes::jwks::Jwks;
