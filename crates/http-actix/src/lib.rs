//! The HTTP face of Gatehouse on actix-web: request bodies (serde + garde),
//! mapping use-case errors to RFC 9457 problems with stable codes, bearer
//! authentication, request logging, health checks and the OpenAPI document
//! generated from the handlers. Generic over the application's `Ports`, so
//! it never learns which adapters are behind them.

mod app;
mod bearer;
mod body;
mod client;
mod dto;
mod errors;
mod handlers;
mod openapi;
mod problem;
mod request_log;

pub use app::{build_app, configure_json};
pub use openapi::openapi_json;
pub use problem::{ApiError, FieldError};
