//! `/v1/users/me`: the caller's own account.

use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use gatehouse_application::Ports;
use gatehouse_application::use_cases::GetCurrentUser;
use gatehouse_application::use_cases::api_keys::{AuthenticateApiKey, KeyError};

use super::no_store;
use crate::bearer::{Bearer, api_key};
use crate::dto::UserResponse;
use crate::problem::{ApiError, Problem};

impl From<KeyError> for ApiError {
    fn from(error: KeyError) -> Self {
        match error {
            KeyError::Invalid => ApiError::api_key_invalid(),
            KeyError::Disabled => ApiError::account_disabled(),
            KeyError::Port(e) => e.into(),
        }
    }
}

/// The authenticated caller's account, read fresh from the store. With an
/// `X-API-Key` (and no bearer token), the key's owner.
#[utoipa::path(
    get, path = "/v1/users/me", tag = "users", security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The caller", body = UserResponse),
        (status = 401, description = "`AUTH_TOKEN_MISSING`, `AUTH_TOKEN_INVALID`, `AUTH_TOKEN_EXPIRED`, `AUTH_TOKEN_REVOKED` (the token's session has ended) or `API_KEY_INVALID`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`ACCOUNT_DISABLED`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me<P: Ports>(
    ports: web::Data<P>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let has_bearer = request
        .headers()
        .contains_key(actix_web::http::header::AUTHORIZATION);
    let user = match api_key(&request).filter(|_| !has_bearer) {
        Some(key) => AuthenticateApiKey::new(&**ports).owner(key).await?,
        None => {
            let Bearer(claims) = Bearer::extract(&request).await?;
            GetCurrentUser::new(&**ports).execute(&claims).await?
        }
    };
    Ok(no_store(HttpResponse::Ok().json(UserResponse::from(user))))
}
