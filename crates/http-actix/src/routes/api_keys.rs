//! `/v1/users/me/api-keys`: a signed-in user's API keys. Managing keys
//! needs a session: a key cannot make or revoke keys.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use garde::Validate;
use gatehouse_application::Ports;
use gatehouse_application::ports::ApiKeyView;
use gatehouse_application::use_cases::api_keys::{
    ApiKeyError, CreateApiKey, ListApiKeys, MAX_EXPIRY_DAYS, MAX_NAME_CHARS, RevokeApiKey,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::no_store;
use crate::bearer::Bearer;
use crate::body::rfc3339;
use crate::body::{FieldErrors, field_error_text};
use crate::client::client_info;
use crate::problem::{ApiError, Problem};
use crate::problem_code::ProblemCode;

/// Mounts the area's routes.
pub fn configure<P: Ports>(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/v1/users/me/api-keys")
                .route(web::post().to(create::<P>))
                .route(web::get().to(list::<P>)),
        )
        .service(web::resource("/v1/users/me/api-keys/{id}").route(web::delete().to(revoke::<P>)));
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct CreateApiKeyBody {
    #[garde(required, length(chars, min = 1, max = MAX_NAME_CHARS))]
    #[schema(value_type = String, required = true, example = "nightly export", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// 1 to 365; absent for a key that does not expire.
    #[garde(range(min = 1, max = MAX_EXPIRY_DAYS))]
    #[schema(minimum = 1, maximum = 365)]
    #[serde(default, deserialize_with = "crate::body::whole_number")]
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyResponse {
    pub id: uuid::Uuid,
    pub name: String,
    /// The key's first 12 characters, to tell keys apart.
    #[schema(example = "gk_Xq3vTn0aP")]
    pub prefix: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

impl From<ApiKeyView> for ApiKeyResponse {
    fn from(k: ApiKeyView) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            created_at: rfc3339(k.created_at),
            expires_at: k.expires_at.map(rfc3339),
            last_used_at: k.last_used_at.map(rfc3339),
        }
    }
}

/// A new key: shown in `key` this once, never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKeyResponse {
    #[serde(flatten)]
    pub api_key: ApiKeyResponse,
    /// `gk_` and 43 characters. Store it now: only its digest is kept.
    pub key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeysResponse {
    pub items: Vec<ApiKeyResponse>,
}

impl From<ApiKeyError> for ApiError {
    fn from(error: ApiKeyError) -> Self {
        match error {
            ApiKeyError::InvalidName => {
                ApiError::validation(vec![field_error_text("name", "length", &error.to_string())])
            }
            ApiKeyError::InvalidExpiry => ApiError::validation(vec![field_error_text(
                "expires_in_days",
                "range",
                &error.to_string(),
            )]),
            ApiKeyError::ReauthRequired => ApiError::reauth_required(),
            ApiKeyError::LimitReached => ApiError::new(
                StatusCode::CONFLICT,
                ProblemCode::ApiKeyLimit,
                "An account has at most 25 live API keys; revoke one first.",
            ),
            ApiKeyError::NotFound => ApiError::not_found(),
            ApiKeyError::Caller(e) => e.into(),
            ApiKeyError::Port(e) => e.into(),
        }
    }
}

const UNAUTHORIZED: &str =
    "`AUTH_TOKEN_MISSING`, `AUTH_TOKEN_INVALID`, `AUTH_TOKEN_EXPIRED` or `AUTH_TOKEN_REVOKED`";
const FORBIDDEN: &str =
    "`API_KEY_NOT_ALLOWED` (keys are managed from a session) or `ACCOUNT_DISABLED`";

/// Make a key for a script or service that acts as the caller. Needs a
/// recent authentication; the owner is mailed a notice.
#[utoipa::path(
    post, path = "/v1/users/me/api-keys", tag = "api-keys", security(("bearer" = [])),
    request_body = CreateApiKeyBody,
    responses(
        (status = 201, body = CreatedApiKeyResponse),
        (status = 401, description = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`REAUTH_REQUIRED` (the sign-in is older than `AUTH_REAUTH_MAX_AGE_SECS`: reauthenticate), `API_KEY_NOT_ALLOWED` (keys are managed from a session) or `ACCOUNT_DISABLED`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`API_KEY_LIMIT`: 25 live keys already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`: `name` (1 to 100 characters) or `expires_in_days` (1 to 365)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    request: HttpRequest,
    body: web::Json<CreateApiKeyBody>,
) -> Result<HttpResponse, ApiError> {
    FieldErrors::from_garde(&*body).finish()?;
    let Some(name) = body.name.as_deref() else {
        return Err(ApiError::malformed("name is required"));
    };
    let created = CreateApiKey::new(&**ports)
        .execute(&claims, name, body.expires_in_days, &client_info(&request))
        .await?;
    Ok(no_store(HttpResponse::Created().json(
        CreatedApiKeyResponse {
            api_key: created.view.into(),
            key: created.key.expose().to_owned(),
        },
    )))
}

/// The caller's live keys, newest first (never the keys themselves).
#[utoipa::path(
    get, path = "/v1/users/me/api-keys", operation_id = "list_api_keys", tag = "api-keys", security(("bearer" = [])),
    responses(
        (status = 200, body = ApiKeysResponse),
        (status = 401, description = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = FORBIDDEN, body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
) -> Result<HttpResponse, ApiError> {
    let keys = ListApiKeys::new(&**ports).execute(&claims).await?;
    Ok(no_store(HttpResponse::Ok().json(ApiKeysResponse {
        items: keys.into_iter().map(ApiKeyResponse::from).collect(),
    })))
}

/// Revoke one of the caller's keys.
#[utoipa::path(
    delete, path = "/v1/users/me/api-keys/{id}", operation_id = "revoke_api_key", tag = "api-keys", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = FORBIDDEN, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`NOT_FOUND`, also for another user's key", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    RevokeApiKey::new(&**ports)
        .execute(&claims, id, &client_info(&request))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create, list, revoke),
    components(schemas(
        CreateApiKeyBody,
        ApiKeyResponse,
        CreatedApiKeyResponse,
        ApiKeysResponse
    ))
)]
pub(crate) struct Api;
