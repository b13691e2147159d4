//! The password area: `PUT /v1/users/me/password` (a signed-in user
//! changes their password), and `POST /v1/auth/password/forgot` and
//! `/reset` (a reset link by mail, and a new password with it).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use garde::Validate;
use gatehouse_application::Ports;
use gatehouse_application::use_cases::password::{
    ChangePassword, ChangePasswordCommand, ChangePasswordError, RequestPasswordReset,
    RequestPasswordResetError, ResetPassword, ResetPasswordCommand, ResetPasswordError,
};
use gatehouse_domain::{Email, Password, SecretString};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::bearer::Bearer;
use crate::body::MAX_RAW_PASSWORD;
use crate::body::{FieldErrors, field_error};
use crate::client::client_info;
use crate::problem::{ApiError, Problem};
use crate::problem_code::ProblemCode;

/// Mounts the area's routes.
pub fn configure<P: Ports>(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/v1/users/me/password").route(web::put().to(change::<P>)))
        .service(web::resource("/v1/auth/password/forgot").route(web::post().to(forgot::<P>)))
        .service(web::resource("/v1/auth/password/reset").route(web::post().to(reset::<P>)));
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ForgotPasswordBody {
    #[garde(required, length(chars, max = 254))]
    #[schema(value_type = String, required = true, format = Email, example = "ada@example.com", max_length = 254)]
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ResetPasswordBody {
    /// The `token` of the link in the reset mail.
    #[garde(required, length(chars, max = 512))]
    #[schema(value_type = String, required = true, max_length = 512)]
    pub token: Option<String>,
    #[garde(required, length(chars, max = MAX_RAW_PASSWORD))]
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128)]
    pub new_password: Option<String>,
}

impl From<RequestPasswordResetError> for ApiError {
    fn from(error: RequestPasswordResetError) -> Self {
        match error {
            RequestPasswordResetError::Port(e) => e.into(),
        }
    }
}

impl From<ResetPasswordError> for ApiError {
    fn from(error: ResetPasswordError) -> Self {
        match error {
            ResetPasswordError::InvalidToken => ApiError::new(
                StatusCode::BAD_REQUEST,
                ProblemCode::ResetTokenInvalid,
                "The reset link is unknown, used or expired; ask for a new one.",
            ),
            ResetPasswordError::WeakPassword(e) => {
                ApiError::validation(vec![field_error("new_password", e)])
            }
            ResetPasswordError::Overloaded { retry_after } => ApiError::overloaded(retry_after),
            ResetPasswordError::Port(e) => e.into(),
        }
    }
}

/// Mail a reset link, if the email belongs to an account. The answer is
/// the same either way, and so is the time it takes.
#[utoipa::path(
    post, path = "/v1/auth/password/forgot", tag = "auth", request_body = ForgotPasswordBody,
    responses(
        (status = 202, description = "Accepted: a link is on its way if the email is registered (at most 5 an hour per account)"),
        (status = 422, description = "`VALIDATION_FAILED`: not an email address", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn forgot<P: Ports>(
    ports: web::Data<P>,
    request: HttpRequest,
    body: web::Json<ForgotPasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::from_garde(&*body);
    let email = errors.parse("email", body.email.as_deref(), Email::parse);
    errors.finish()?;
    let Some(email) = email else {
        return Err(ApiError::malformed("email is required"));
    };
    RequestPasswordReset::new(&**ports)
        .execute(email, &client_info(&request))
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Set a new password with the token of a reset link. Every session ends;
/// MFA stays as it was.
#[utoipa::path(
    post, path = "/v1/auth/password/reset", tag = "auth", request_body = ResetPasswordBody,
    responses(
        (status = 204, description = "Password replaced; every session of the account ended"),
        (status = 400, description = "`RESET_TOKEN_INVALID`: unknown, used or expired (links work once, for 30 minutes)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`: the new password breaks the password rules", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`OVERLOADED`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reset<P: Ports>(
    ports: web::Data<P>,
    request: HttpRequest,
    body: web::Json<ResetPasswordBody>,
) -> Result<HttpResponse, ApiError> {
    FieldErrors::from_garde(&*body).finish()?;
    let (Some(token), Some(new)) = (&body.token, &body.new_password) else {
        return Err(ApiError::malformed("token and new_password are required"));
    };
    ResetPassword::new(&**ports)
        .execute(ResetPasswordCommand {
            token: SecretString::new(token.as_str()),
            new_password: Password::presented(new),
            client: client_info(&request),
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ChangePasswordBody {
    #[garde(required, length(chars, max = MAX_RAW_PASSWORD))]
    #[schema(value_type = String, required = true, max_length = 1024)]
    pub current_password: Option<String>,
    #[garde(required, length(chars, max = MAX_RAW_PASSWORD))]
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128)]
    pub new_password: Option<String>,
}

impl From<ChangePasswordError> for ApiError {
    fn from(error: ChangePasswordError) -> Self {
        match error {
            ChangePasswordError::InvalidCredentials => {
                ApiError::wrong_password("The current password is not correct.")
            }
            ChangePasswordError::WeakPassword(e) => {
                ApiError::validation(vec![field_error("new_password", e)])
            }
            ChangePasswordError::Throttled { retry_after } => {
                ApiError::too_many_attempts(retry_after)
            }
            ChangePasswordError::Overloaded { retry_after } => ApiError::overloaded(retry_after),
            ChangePasswordError::Caller(e) => e.into(),
            ChangePasswordError::Port(e) => e.into(),
        }
    }
}

/// Change the caller's password. Every other session ends; the caller's stays.
#[utoipa::path(
    put, path = "/v1/users/me/password", tag = "users", security(("bearer" = [])),
    request_body = ChangePasswordBody,
    responses(
        (status = 204, description = "Changed; every other session ended"),
        (status = 401, description = "`AUTH_TOKEN_MISSING`, `AUTH_TOKEN_INVALID`, `AUTH_TOKEN_EXPIRED` or `AUTH_TOKEN_REVOKED`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`INVALID_CREDENTIALS` (the current password is wrong) or `ACCOUNT_DISABLED`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`: the new password breaks the password rules", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`TOO_MANY_ATTEMPTS`: wrong current passwords count towards the account's lockout, as failed logins do", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`OVERLOADED`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn change<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    request: HttpRequest,
    body: web::Json<ChangePasswordBody>,
) -> Result<HttpResponse, ApiError> {
    let errors = FieldErrors::from_garde(&*body);
    errors.finish()?;
    let (Some(current), Some(new)) = (&body.current_password, &body.new_password) else {
        return Err(ApiError::malformed(
            "current_password and new_password are required",
        ));
    };
    ChangePassword::new(&**ports)
        .execute(
            &claims,
            ChangePasswordCommand {
                current: Password::presented(current),
                new: Password::presented(new),
                client: client_info(&request),
            },
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(forgot, reset, change),
    components(schemas(ChangePasswordBody, ForgotPasswordBody, ResetPasswordBody))
)]
pub(crate) struct Api;
