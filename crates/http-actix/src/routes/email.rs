//! The email-verification area: `POST /v1/auth/email/verify` spends the
//! link's token; `POST /v1/users/me/email/verify/resend` mails a new link.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use garde::Validate;
use gatehouse_application::Ports;
use gatehouse_application::use_cases::email::{
    ResendVerification, ResendVerificationError, VerifyEmail, VerifyEmailError,
};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::bearer::Bearer;
use crate::body::FieldErrors;
use crate::client::client_info;
use crate::problem::{ApiError, Problem};
use crate::problem_code::ProblemCode;

/// Mounts the area's routes.
pub fn configure<P: Ports>(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/v1/auth/email/verify").route(web::post().to(verify::<P>)))
        .service(
            web::resource("/v1/users/me/email/verify/resend").route(web::post().to(resend::<P>)),
        );
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct VerifyEmailBody {
    /// The `token` of the link in the verification mail.
    #[garde(required, length(chars, max = 512))]
    #[schema(value_type = String, required = true, max_length = 512)]
    pub token: Option<String>,
}

impl From<VerifyEmailError> for ApiError {
    fn from(error: VerifyEmailError) -> Self {
        match error {
            VerifyEmailError::InvalidToken => ApiError::new(
                StatusCode::BAD_REQUEST,
                ProblemCode::VerifyTokenInvalid,
                "The verification link is unknown, used or expired; ask for a new one.",
            ),
            VerifyEmailError::Port(e) => e.into(),
        }
    }
}

impl From<ResendVerificationError> for ApiError {
    fn from(error: ResendVerificationError) -> Self {
        match error {
            ResendVerificationError::Caller(e) => e.into(),
            ResendVerificationError::Port(e) => e.into(),
        }
    }
}

/// Confirm the email address with the token of a verification link.
#[utoipa::path(
    post, path = "/v1/auth/email/verify", tag = "auth", request_body = VerifyEmailBody,
    responses(
        (status = 204, description = "The email is verified"),
        (status = 400, description = "`VERIFY_TOKEN_INVALID`: unknown, used or expired (links work once, for 24 hours)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`: no token", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn verify<P: Ports>(
    ports: web::Data<P>,
    request: HttpRequest,
    body: web::Json<VerifyEmailBody>,
) -> Result<HttpResponse, ApiError> {
    FieldErrors::from_garde(&*body).finish()?;
    let Some(token) = body.token.as_deref() else {
        return Err(ApiError::malformed("token is required"));
    };
    VerifyEmail::new(&**ports)
        .execute(token, &client_info(&request))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mail the caller a new verification link. Quietly does nothing when the
/// email is verified already, or after 5 links in an hour.
#[utoipa::path(
    post, path = "/v1/users/me/email/verify/resend", tag = "users", security(("bearer" = [])),
    responses(
        (status = 202, description = "Accepted"),
        (status = 401, description = "`AUTH_TOKEN_MISSING`, `AUTH_TOKEN_INVALID`, `AUTH_TOKEN_EXPIRED` or `AUTH_TOKEN_REVOKED`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`ACCOUNT_DISABLED`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resend<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
) -> Result<HttpResponse, ApiError> {
    ResendVerification::new(&**ports).execute(&claims).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(verify, resend), components(schemas(VerifyEmailBody)))]
pub(crate) struct Api;
