//! `POST /v1/auth/introspect`: whether a token is good right now, for other
//! services. Always 200; a bad token is simply `{"active": false}`.

use actix_web::{HttpResponse, web};
use garde::Validate;
use gatehouse_application::Ports;
use gatehouse_application::use_cases::{Introspect, Introspection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::no_store;
use crate::body::FieldErrors;
use crate::problem::{ApiError, Problem};

/// Mounts the area's routes.
pub fn configure<P: Ports>(config: &mut web::ServiceConfig) {
    config.service(web::resource("/v1/auth/introspect").route(web::post().to(introspect::<P>)));
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct IntrospectBody {
    /// An access token or an API key.
    #[garde(required, length(chars, max = 4096))]
    #[schema(value_type = String, required = true, max_length = 4096)]
    pub token: Option<String>,
}

/// The answer; only `active` when the token is not.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct IntrospectionResponse {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "access_token")]
    pub token_type: Option<&'static str>,
    /// The user id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<uuid::Uuid>,
    /// The session id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<uuid::Uuid>,
    /// The user's role now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// Expiry, seconds since the epoch (absent for a key that never expires).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// The API key's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<uuid::Uuid>,
}

impl From<Introspection> for IntrospectionResponse {
    fn from(found: Introspection) -> Self {
        match found {
            Introspection::Inactive => Self::default(),
            Introspection::AccessToken {
                user_id,
                session_id,
                role,
                expires_at,
            } => Self {
                active: true,
                token_type: Some("access_token"),
                sub: Some(user_id.as_uuid()),
                sid: Some(session_id.as_uuid()),
                role: Some(role.as_str()),
                exp: Some(expires_at.timestamp()),
                key_id: None,
            },
            Introspection::ApiKey {
                key_id,
                user_id,
                role,
                expires_at,
            } => Self {
                active: true,
                token_type: Some("api_key"),
                sub: Some(user_id.as_uuid()),
                sid: None,
                role: Some(role.as_str()),
                exp: expires_at.map(|at| at.timestamp()),
                key_id: Some(key_id),
            },
        }
    }
}

/// Active only for a well-signed, unexpired access token whose session is
/// live, or a live API key, whose user is enabled.
#[utoipa::path(
    post, path = "/v1/auth/introspect", tag = "auth", request_body = IntrospectBody,
    responses(
        (status = 200, description = "Whether the token is active, and what it says when it is", body = IntrospectionResponse),
        (status = 422, description = "`VALIDATION_FAILED`: no token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`SERVICE_UNAVAILABLE`: the store cannot tell", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn introspect<P: Ports>(
    ports: web::Data<P>,
    body: web::Json<IntrospectBody>,
) -> Result<HttpResponse, ApiError> {
    FieldErrors::from_garde(&*body).finish()?;
    let Some(token) = body.token.as_deref() else {
        return Err(ApiError::malformed("token is required"));
    };
    let found = Introspect::new(&**ports).execute(token).await?;
    Ok(no_store(
        HttpResponse::Ok().json(IntrospectionResponse::from(found)),
    ))
}

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(introspect),
    components(schemas(IntrospectBody, IntrospectionResponse))
)]
pub(crate) struct Api;
