//! The `Authorization: Bearer` extractor. It verifies the access token
//! without the database; handlers that need fresh account state ask the
//! store themselves.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use gatehouse_application::ports::{AccessClaims, AccessTokenError};

use crate::problem::ApiError;

/// Verifies a bearer token; installed as app data by `build_app`, so the
/// extractor needs no knowledge of the concrete ports.
pub type Verifier = Arc<dyn Fn(&str) -> Result<AccessClaims, AccessTokenError> + Send + Sync>;

#[derive(Debug, Clone)]
pub struct Bearer(pub AccessClaims);

/// The `X-API-Key` header, where one was sent.
pub(crate) fn api_key(request: &HttpRequest) -> Option<&str> {
    request
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn token(request: &HttpRequest) -> Result<&str, ApiError> {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        // A key is for `GET /v1/users/me` and introspection only: the rest
        // (password, MFA, sessions, keys, admin) needs a signed-in session.
        if api_key(request).is_some() {
            return Err(ApiError::api_key_not_allowed());
        }
        return Err(ApiError::token_missing());
    };
    let value = value.to_str().map_err(|_| ApiError::token_invalid())?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(ApiError::token_invalid)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::token_invalid());
    }
    Ok(token.trim())
}

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = token(request).and_then(|token| {
            let verify = request.app_data::<web::Data<Verifier>>().ok_or_else(|| {
                ApiError::internal(&anyhow::anyhow!("bearer verifier not installed"))
            })?;
            verify(token).map(Bearer).map_err(|e| match e {
                AccessTokenError::Expired => ApiError::token_expired(),
                AccessTokenError::Invalid => ApiError::token_invalid(),
            })
        });
        ready(result)
    }
}
