//! `/v1/users/me`: the caller's own account.

use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use gatehouse_application::Ports;
use gatehouse_application::use_cases::api_keys::{AuthenticateApiKey, KeyError};
use gatehouse_application::use_cases::{GetCurrentUser, GetCurrentUserError};
use gatehouse_domain::{Role, User};
use serde::Serialize;
use utoipa::ToSchema;

use super::no_store;
use crate::bearer::{Bearer, api_key};
use crate::body::rfc3339;
use crate::problem::{ApiError, Problem};

/// A role, as the API spells it. (Bodies read it as a string, so that a
/// wrong one is a field error rather than a malformed body.)
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    User,
    Admin,
}

impl From<Role> for RoleName {
    fn from(role: Role) -> Self {
        match role {
            Role::User => Self::User,
            Role::Admin => Self::Admin,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: uuid::Uuid,
    pub email: String,
    #[schema(example = "user")]
    pub role: RoleName,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    pub disabled: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email.as_str().to_owned(),
            role: user.role.into(),
            email_verified: user.email_verified,
            mfa_enabled: user.mfa_enabled,
            disabled: user.disabled,
            created_at: rfc3339(user.created_at),
        }
    }
}

impl From<GetCurrentUserError> for ApiError {
    fn from(error: GetCurrentUserError) -> Self {
        match error {
            GetCurrentUserError::Caller(e) => e.into(),
        }
    }
}

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

pub fn configure<P: Ports>(config: &mut web::ServiceConfig) {
    config.service(web::resource("/v1/users/me").route(web::get().to(me::<P>)));
}

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(me), components(schemas(UserResponse, RoleName)))]
pub(crate) struct Api;
