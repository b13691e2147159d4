//! RFC 9457 problem details. Every error leaves the service in this shape,
//! with a stable machine `code`; 5xx bodies are generic and the cause is
//! logged once, here.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use gatehouse_application::PortError;
use gatehouse_application::use_cases::signed_in::CallerError;

use crate::problem_code::ProblemCode;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// The wire shape of a problem, for the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable SCREAMING_SNAKE machine code.
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Challenge {
    None,
    /// No credentials were sent.
    Bearer,
    /// Credentials were sent and refused (RFC 6750 §3.1).
    InvalidToken,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ProblemCode,
    detail: String,
    errors: Vec<FieldError>,
    retry_after: Option<u64>,
    challenge: Challenge,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: ProblemCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            challenge: Challenge::None,
        }
    }

    /// Replaces the human-readable detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemCode::ValidationFailed,
            "One or more fields are invalid.",
        );
        e.errors = errors;
        e
    }

    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ProblemCode::MalformedRequest,
            detail,
        )
    }

    pub fn token_missing() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            ProblemCode::AuthTokenMissing,
            "Send an access token as `Authorization: Bearer <token>`.",
        );
        e.challenge = Challenge::Bearer;
        e
    }

    pub fn token_invalid() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            ProblemCode::AuthTokenInvalid,
            "The access token is not valid.",
        );
        e.challenge = Challenge::InvalidToken;
        e
    }

    pub fn token_expired() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            ProblemCode::AuthTokenExpired,
            "The access token has expired.",
        );
        e.challenge = Challenge::InvalidToken;
        e
    }

    /// A well-signed token whose session has ended (logout, revocation).
    pub fn token_revoked() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            ProblemCode::AuthTokenRevoked,
            "The session of this access token has ended; sign in again.",
        );
        e.challenge = Challenge::InvalidToken;
        e
    }

    /// The account is locked out after repeated wrong passwords.
    pub fn too_many_attempts(retry_after: std::time::Duration) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ProblemCode::TooManyAttempts,
            "Too many wrong passwords for this account; try again later.",
        )
        .retry_after(retry_after.as_secs_f64().ceil() as u64)
    }

    /// The network's requests to the sign-in endpoints are over the limit.
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ProblemCode::RateLimited,
            "Too many requests from this network; slow down.",
        )
        .retry_after(wait.as_secs_f64().ceil() as u64)
    }

    /// A signed-in caller's password confirmation failed: 403, not 401,
    /// since the caller is authenticated and only the proof is wrong.
    pub fn wrong_password(detail: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ProblemCode::InvalidCredentials,
            detail,
        )
    }

    pub fn api_key_not_allowed() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ProblemCode::ApiKeyNotAllowed,
            "This needs a signed-in session: an API key only reads /v1/users/me.",
        )
    }

    pub fn api_key_invalid() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ProblemCode::ApiKeyInvalid,
            "The API key is unknown, revoked or expired.",
        )
    }

    /// A TOTP or backup code that is wrong or spent: 401 at login, 400
    /// when confirming a setup.
    pub fn mfa_invalid(status: StatusCode) -> Self {
        Self::new(
            status,
            ProblemCode::MfaInvalid,
            "The code is wrong, expired or already used.",
        )
    }

    /// The access token's `auth_time` is older than
    /// `AUTH_REAUTH_MAX_AGE_SECS`: `POST /v1/auth/reauth`, then retry.
    pub fn reauth_required() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ProblemCode::ReauthRequired,
            "Confirm your password with POST /v1/auth/reauth, then try again with the new access token.",
        )
    }

    pub fn mfa_required() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ProblemCode::MfaRequired,
            "Send the code of your authenticator app, or a backup code, as `otp`.",
        )
    }

    pub fn email_not_verified(detail: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, ProblemCode::EmailNotVerified, detail)
    }

    pub fn account_disabled() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ProblemCode::AccountDisabled,
            "This account is disabled.",
        )
    }

    pub fn unavailable(cause: &anyhow::Error) -> Self {
        tracing::warn!(error = format!("{cause:#}"), "dependency unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::ServiceUnavailable,
            "The service cannot handle the request right now; try again shortly.",
        )
        .retry_after(1)
    }

    pub fn overloaded(retry_after: std::time::Duration) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ProblemCode::Overloaded,
            "Too many password operations are in progress; try again shortly.",
        )
        .retry_after(retry_after.as_secs())
    }

    pub fn internal(cause: &anyhow::Error) -> Self {
        tracing::error!(error = format!("{cause:#}"), "unexpected error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ProblemCode::InternalError,
            "Something went wrong on our side.",
        )
    }

    /// For responses the framework produced itself (unknown route, wrong
    /// method, body too large, ...).
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::not_found(),
            StatusCode::METHOD_NOT_ALLOWED => Self::new(
                status,
                ProblemCode::MethodNotAllowed,
                "This resource does not support that method.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => Self::payload_too_large(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::unsupported_media_type(),
            s if s.is_server_error() => Self::new(
                s,
                ProblemCode::InternalError,
                "Something went wrong on our side.",
            ),
            s => Self::new(
                s,
                ProblemCode::BadRequest,
                "The request could not be processed.",
            ),
        }
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ProblemCode::NotFound,
            "No such resource.",
        )
    }

    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemCode::PayloadTooLarge,
            "Request bodies are limited to 64 KiB.",
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemCode::UnsupportedMediaType,
            "Send request bodies as `Content-Type: application/json`.",
        )
    }

    pub fn code(&self) -> ProblemCode {
        self.code
    }

    fn body(&self) -> Problem {
        Problem {
            kind: format!(
                "urn:gatehouse:problem:{}",
                self.code.as_str().to_ascii_lowercase().replace('_', "-")
            ),
            title: self.code.title().to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.as_str().to_owned(),
            errors: self.errors.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response
            .content_type(PROBLEM_JSON)
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        // Every 401 names the scheme that would authenticate (RFC 9110
        // §15.5.2 requires a challenge), the refused codes of a signed-in
        // call too (a missing second factor on reauth): clients that look
        // for it find `Bearer` whatever the code.
        let challenge = match self.challenge {
            Challenge::None if self.status == StatusCode::UNAUTHORIZED => Challenge::Bearer,
            other => other,
        };
        match challenge {
            Challenge::None => {}
            Challenge::Bearer => {
                response
                    .insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            Challenge::InvalidToken => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                ));
            }
        }
        response.json(self.body())
    }
}

impl From<PortError> for ApiError {
    fn from(error: PortError) -> Self {
        match error {
            PortError::Unavailable(e) => ApiError::unavailable(&e),
            // Retrying meets the state the other writer left.
            PortError::Conflict(e) => ApiError::unavailable(&e),
            PortError::Unexpected(e) => ApiError::internal(&e),
        }
    }
}

/// What every call under `/v1/users/me` may answer before it does anything.
impl From<CallerError> for ApiError {
    fn from(error: CallerError) -> Self {
        match error {
            // The account behind a well-signed token is gone: the token no longer means anything.
            CallerError::Gone => ApiError::token_invalid(),
            CallerError::Disabled => ApiError::account_disabled(),
            CallerError::SessionEnded => ApiError::token_revoked(),
            CallerError::Port(e) => e.into(),
        }
    }
}
