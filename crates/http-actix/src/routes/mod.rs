//! The routes, one module per area, each with its `configure::<P>()`, its
//! bodies and its OpenAPI annotations. Each parses its body into domain
//! values, runs one use case and maps its errors.

pub mod admin;
pub mod api_keys;
pub mod auth;
pub mod email;
pub mod health;
pub mod introspection;
pub mod jwks;
pub mod mfa;
pub mod password;
pub mod sessions;
pub mod users;

use actix_web::HttpResponse;
use actix_web::http::header;

/// Token responses must never be cached (RFC 6749 §5.1).
pub(crate) fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
        .headers_mut()
        .insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    response
}
