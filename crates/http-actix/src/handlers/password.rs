//! `PUT /v1/users/me/password`: a signed-in user changes their password.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use garde::Validate;
use gatehouse_application::Ports;
use gatehouse_application::use_cases::password::{
    ChangePassword, ChangePasswordCommand, ChangePasswordError,
};
use gatehouse_domain::Password;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::bearer::Bearer;
use crate::body::{FieldErrors, field_error};
use crate::client::client_info;
use crate::dto::MAX_RAW_PASSWORD;
use crate::problem::{ApiError, Problem};

/// Mounts the area's routes.
pub fn configure<P: Ports>(config: &mut web::ServiceConfig) {
    config.service(web::resource("/v1/users/me/password").route(web::put().to(change::<P>)));
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ChangePasswordBody {
    #[garde(required, length(chars, max = MAX_RAW_PASSWORD))]
    pub current_password: Option<String>,
    #[garde(required, length(chars, max = MAX_RAW_PASSWORD))]
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: Option<String>,
}

impl From<ChangePasswordError> for ApiError {
    fn from(error: ChangePasswordError) -> Self {
        match error {
            // 403, not 401: the caller is signed in; only the proof is wrong.
            ChangePasswordError::InvalidCredentials => ApiError::new(
                StatusCode::FORBIDDEN,
                "INVALID_CREDENTIALS",
                "Invalid credentials",
                "The current password is not correct.",
            ),
            ChangePasswordError::WeakPassword(e) => {
                ApiError::validation(vec![field_error("new_password", e)])
            }
            ChangePasswordError::Overloaded { retry_after } => ApiError::overloaded(retry_after),
            ChangePasswordError::Caller(e) => e.into(),
            ChangePasswordError::Port(e) => e.into(),
            ChangePasswordError::Unexpected(e) => ApiError::internal(&e),
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
