//! TOTP enrolment: setup and enable (a recent authentication and a
//! verified email; enable answers the backup codes and ends every other
//! session), disable (password and code).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use garde::Validate;
use gatehouse_application::Ports;
use gatehouse_application::use_cases::mfa::{DisableTotp, EnableTotp, MfaError, SetupTotp};
use gatehouse_domain::Password;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::no_store;
use crate::bearer::Bearer;
use crate::body::FieldErrors;
use crate::body::MAX_RAW_PASSWORD;
use crate::client::client_info;
use crate::problem::{ApiError, Problem};
use crate::problem_code::ProblemCode;

pub fn configure<P: Ports>(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/v1/users/me/mfa/totp/setup").route(web::post().to(setup::<P>)))
        .service(web::resource("/v1/users/me/mfa/totp/enable").route(web::post().to(enable::<P>)))
        .service(web::resource("/v1/users/me/mfa/totp").route(web::delete().to(disable::<P>)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetupResponse {
    /// The secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/...`, the same secret for apps that open links.
    pub otpauth_uri: String,
    /// The URI as a QR code: an SVG document to show inline.
    pub qr_svg: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct EnableTotpBody {
    /// The current code of the authenticator app.
    #[garde(required, length(chars, max = 16))]
    #[schema(value_type = String, required = true, example = "123456", max_length = 16)]
    pub code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BackupCodesResponse {
    /// Ten codes, shown this once; each signs in once in place of a TOTP code.
    pub backup_codes: Vec<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct DisableTotpBody {
    #[garde(required, length(chars, max = MAX_RAW_PASSWORD))]
    #[schema(value_type = String, required = true, max_length = 1024)]
    pub password: Option<String>,
    /// A current code of the authenticator app, or a backup code.
    #[garde(required, length(chars, min = 1, max = 64))]
    #[schema(value_type = String, required = true, example = "123456", min_length = 1, max_length = 64)]
    pub otp: Option<String>,
}

impl From<MfaError> for ApiError {
    fn from(error: MfaError) -> Self {
        match error {
            MfaError::AlreadyEnabled => ApiError::new(
                StatusCode::CONFLICT,
                ProblemCode::MfaAlreadyEnabled,
                "Two-step sign-in is on; turn it off first to enrol a new app.",
            ),
            MfaError::InvalidCode => ApiError::mfa_invalid(StatusCode::BAD_REQUEST),
            MfaError::InvalidCredentials => {
                ApiError::wrong_password("The password is not correct.")
            }
            MfaError::MfaInvalid => ApiError::mfa_invalid(StatusCode::UNAUTHORIZED),
            MfaError::ReauthRequired => ApiError::reauth_required(),
            MfaError::EmailNotVerified => ApiError::email_not_verified(
                "Confirm your email address first: two-step sign-in on an address that is not yours would lock its owner out.",
            ),
            MfaError::Throttled { retry_after } => ApiError::too_many_attempts(retry_after),
            MfaError::Overloaded { retry_after } => ApiError::overloaded(retry_after),
            MfaError::Caller(e) => e.into(),
            MfaError::Port(e) => e.into(),
        }
    }
}

const SESSION_ERRORS: &str =
    "`AUTH_TOKEN_MISSING`, `AUTH_TOKEN_INVALID`, `AUTH_TOKEN_EXPIRED` or `AUTH_TOKEN_REVOKED`";

/// Start enrolling an authenticator app: a new secret, pending until
/// enabled (a second setup replaces it).
#[utoipa::path(
    post, path = "/v1/users/me/mfa/totp/setup", tag = "mfa", security(("bearer" = [])),
    responses(
        (status = 200, body = TotpSetupResponse),
        (status = 401, description = SESSION_ERRORS, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`REAUTH_REQUIRED` (the sign-in is older than `AUTH_REAUTH_MAX_AGE_SECS`: reauthenticate), `EMAIL_NOT_VERIFIED`, `ACCOUNT_DISABLED` or `API_KEY_NOT_ALLOWED`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`MFA_ALREADY_ENABLED`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`SERVICE_UNAVAILABLE`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn setup<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
) -> Result<HttpResponse, ApiError> {
    let enrolment = SetupTotp::new(&**ports).execute(&claims).await?;
    Ok(no_store(HttpResponse::Ok().json(TotpSetupResponse {
        secret: enrolment.secret_base32.expose().to_owned(),
        otpauth_uri: enrolment.otpauth_uri.expose().to_owned(),
        qr_svg: enrolment.qr_svg.expose().to_owned(),
    })))
}

/// Confirm the pending secret with a current code: two-step sign-in is on,
/// and the backup codes are answered, this once.
#[utoipa::path(
    post, path = "/v1/users/me/mfa/totp/enable", tag = "mfa", security(("bearer" = [])),
    request_body = EnableTotpBody,
    responses(
        (status = 200, body = BackupCodesResponse),
        (status = 400, description = "`MFA_INVALID`: a wrong or expired code, or no setup to confirm; `MALFORMED_REQUEST`", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = SESSION_ERRORS, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`REAUTH_REQUIRED`, `ACCOUNT_DISABLED` or `API_KEY_NOT_ALLOWED`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`MFA_ALREADY_ENABLED`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`SERVICE_UNAVAILABLE`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn enable<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    request: HttpRequest,
    body: web::Json<EnableTotpBody>,
) -> Result<HttpResponse, ApiError> {
    FieldErrors::from_garde(&*body).finish()?;
    let code = body
        .code
        .as_deref()
        .ok_or_else(|| ApiError::malformed("code is required"))?;
    let codes = EnableTotp::new(&**ports)
        .execute(&claims, code, &client_info(&request))
        .await?;
    Ok(no_store(HttpResponse::Ok().json(BackupCodesResponse {
        backup_codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
    })))
}

/// Turn two-step sign-in off: the secret and the backup codes are
/// forgotten. The password and a current code (or a backup code) are
/// asked again.
#[utoipa::path(
    delete, path = "/v1/users/me/mfa/totp", tag = "mfa", security(("bearer" = [])),
    request_body = DisableTotpBody,
    responses(
        (status = 204, description = "Off (or it was)"),
        (status = 401, description = "`MFA_INVALID` (a wrong or spent code), or a session error: `AUTH_TOKEN_MISSING`, `AUTH_TOKEN_INVALID`, `AUTH_TOKEN_EXPIRED` or `AUTH_TOKEN_REVOKED`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`INVALID_CREDENTIALS`, `ACCOUNT_DISABLED` or `API_KEY_NOT_ALLOWED`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`TOO_MANY_ATTEMPTS`: wrong passwords count towards the account's lockout", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`OVERLOADED` or `SERVICE_UNAVAILABLE`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn disable<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    request: HttpRequest,
    body: web::Json<DisableTotpBody>,
) -> Result<HttpResponse, ApiError> {
    FieldErrors::from_garde(&*body).finish()?;
    let (Some(password), Some(otp)) = (body.password.as_deref(), body.otp.as_deref()) else {
        return Err(ApiError::malformed("password and otp are required"));
    };
    DisableTotp::new(&**ports)
        .execute(
            &claims,
            Password::presented(password),
            otp,
            &client_info(&request),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(setup, enable, disable),
    components(schemas(
        TotpSetupResponse,
        EnableTotpBody,
        BackupCodesResponse,
        DisableTotpBody
    ))
)]
pub(crate) struct Api;
