//! `/v1/users/me`: the caller's own account.

use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use gatehouse_application::Ports;
use gatehouse_application::use_cases::api_keys::{AuthenticateApiKey, KeyError};
use gatehouse_application::use_cases::{
    GetCurrentUser, GetCurrentUserError, ProfileChange, UpdateProfile, UpdateProfileError,
};
use gatehouse_domain::{DisplayName, Metadata, Role, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::no_store;
use crate::bearer::{Bearer, api_key};
use crate::body::{FieldErrors, rfc3339};
use crate::client::client_info;
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
    /// The display name, or null.
    pub name: Option<String>,
    /// A JSON object the user owns, `{}` when unset.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The next sign-in must choose a new password first.
    pub password_must_change: bool,
    /// The last successful sign-in (RFC 3339, UTC), or null.
    pub last_sign_in_at: Option<String>,
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
            name: user.name.map(|n| n.as_str().to_owned()),
            metadata: user.metadata.as_map().clone(),
            password_must_change: user.password_must_change,
            last_sign_in_at: user.last_sign_in_at.map(rfc3339),
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

/// A field that may be absent (unchanged), `null` or a value.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateProfileBody {
    /// A display name, 1 to 100 characters once trimmed; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "Ada Lovelace", min_length = 1, max_length = 1024)]
    pub name: Option<Option<String>>,
    /// A JSON object of at most 4 KiB, replacing the current one whole.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Object)]
    pub metadata: Option<Option<serde_json::Value>>,
}

/// Change the caller's name or metadata (audit `user.updated`).
#[utoipa::path(
    patch, path = "/v1/users/me", operation_id = "update_me", tag = "users", security(("bearer" = [])),
    request_body = UpdateProfileBody,
    responses(
        (status = 200, description = "The caller, as now", body = UserResponse),
        (status = 401, description = "`AUTH_TOKEN_MISSING`, `AUTH_TOKEN_INVALID`, `AUTH_TOKEN_EXPIRED` or `AUTH_TOKEN_REVOKED`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`ACCOUNT_DISABLED`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`: `name` (`length`, `characters`) or `metadata` (`object`, `length`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_me<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    request: HttpRequest,
    body: web::Json<UpdateProfileBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = FieldErrors::default();
    let name = match body.name {
        None => None,
        Some(None) => Some(None),
        Some(Some(raw)) => errors
            .parse("name", Some(raw.as_str()), DisplayName::parse)
            .map(Some),
    };
    let metadata = match body.metadata {
        None => None,
        Some(value) => errors.parse("metadata", Some(""), |_| {
            Metadata::new(value.unwrap_or(serde_json::Value::Null))
        }),
    };
    errors.finish()?;
    let user = UpdateProfile::new(&**ports)
        .execute(
            &claims,
            ProfileChange { name, metadata },
            &client_info(&request),
        )
        .await?;
    Ok(no_store(HttpResponse::Ok().json(UserResponse::from(user))))
}

impl From<UpdateProfileError> for ApiError {
    fn from(error: UpdateProfileError) -> Self {
        match error {
            UpdateProfileError::Caller(e) => e.into(),
            UpdateProfileError::Port(e) => e.into(),
        }
    }
}

pub fn configure<P: Ports>(config: &mut web::ServiceConfig) {
    config.service(
        web::resource("/v1/users/me")
            .route(web::get().to(me::<P>))
            .route(web::patch().to(update_me::<P>)),
    );
}

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(me, update_me),
    components(schemas(UserResponse, RoleName, UpdateProfileBody))
)]
pub(crate) struct Api;
