//! Each use-case error variant to its status and stable code.

use actix_web::http::StatusCode;
use gatehouse_application::use_cases::{
    GetCurrentUserError, LoginError, LogoutError, RegisterError, RotateRefreshTokenError,
};

use crate::problem::ApiError;

impl From<RegisterError> for ApiError {
    fn from(error: RegisterError) -> Self {
        match error {
            RegisterError::EmailTaken => ApiError::new(
                StatusCode::CONFLICT,
                "EMAIL_TAKEN",
                "Email taken",
                "An account with this email already exists.",
            ),
            RegisterError::Overloaded { retry_after } => ApiError::overloaded(retry_after),
            RegisterError::Unavailable(e) => ApiError::unavailable(&e),
            RegisterError::Unexpected(e) => ApiError::internal(&e),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_CREDENTIALS",
                "Invalid credentials",
                "The email or password is not correct.",
            ),
            LoginError::AccountDisabled => ApiError::account_disabled(),
            LoginError::Overloaded { retry_after } => ApiError::overloaded(retry_after),
            LoginError::Unavailable(e) => ApiError::unavailable(&e),
            LoginError::Unexpected(e) => ApiError::internal(&e),
        }
    }
}

impl From<RotateRefreshTokenError> for ApiError {
    fn from(error: RotateRefreshTokenError) -> Self {
        match error {
            RotateRefreshTokenError::Invalid => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "REFRESH_TOKEN_INVALID",
                "Invalid refresh token",
                "The refresh token is unknown, expired or revoked; sign in again.",
            ),
            RotateRefreshTokenError::Reused => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "REFRESH_TOKEN_REUSED",
                "Refresh token reused",
                "This refresh token was already used; the session has been ended. Sign in again.",
            ),
            RotateRefreshTokenError::Unavailable(e) => ApiError::unavailable(&e),
            RotateRefreshTokenError::Unexpected(e) => ApiError::internal(&e),
        }
    }
}

impl From<LogoutError> for ApiError {
    fn from(error: LogoutError) -> Self {
        match error {
            LogoutError::Unavailable(e) => ApiError::unavailable(&e),
            LogoutError::Unexpected(e) => ApiError::internal(&e),
        }
    }
}

impl From<GetCurrentUserError> for ApiError {
    fn from(error: GetCurrentUserError) -> Self {
        match error {
            // The account behind a well-signed token is gone: the token no longer means anything.
            GetCurrentUserError::NotFound => ApiError::token_invalid(),
            GetCurrentUserError::AccountDisabled => ApiError::account_disabled(),
            GetCurrentUserError::SessionEnded => ApiError::token_revoked(),
            GetCurrentUserError::Unavailable(e) => ApiError::unavailable(&e),
            GetCurrentUserError::Unexpected(e) => ApiError::internal(&e),
        }
    }
}
