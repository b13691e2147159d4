//! Each use-case error variant to its status and stable code.

use actix_web::http::StatusCode;
use gatehouse_application::PortError;
use gatehouse_application::use_cases::sessions::{
    ListSessionsError, RevokeAllSessionsError, RevokeSessionError,
};
use gatehouse_application::use_cases::signed_in::CallerError;
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
            RegisterError::WeakPassword(e) => {
                ApiError::validation(vec![crate::body::field_error("password", e)])
            }
            RegisterError::Overloaded { retry_after } => ApiError::overloaded(retry_after),
            RegisterError::Port(e) => e.into(),
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
            LoginError::EmailNotVerified => ApiError::email_not_verified(
                "Confirm your email address with the link we mailed you, then sign in.",
            ),
            LoginError::MfaRequired => ApiError::mfa_required(),
            LoginError::MfaInvalid => ApiError::mfa_invalid(StatusCode::UNAUTHORIZED),
            LoginError::Throttled { retry_after } => ApiError::too_many_attempts(retry_after),
            LoginError::Overloaded { retry_after } => ApiError::overloaded(retry_after),
            LoginError::Port(e) => e.into(),
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
            RotateRefreshTokenError::Port(e) => e.into(),
        }
    }
}

impl From<LogoutError> for ApiError {
    fn from(error: LogoutError) -> Self {
        match error {
            LogoutError::Port(e) => e.into(),
        }
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

impl From<GetCurrentUserError> for ApiError {
    fn from(error: GetCurrentUserError) -> Self {
        match error {
            GetCurrentUserError::Caller(e) => e.into(),
        }
    }
}

impl From<ListSessionsError> for ApiError {
    fn from(error: ListSessionsError) -> Self {
        match error {
            ListSessionsError::Caller(e) => e.into(),
            ListSessionsError::Port(e) => e.into(),
        }
    }
}

impl From<RevokeSessionError> for ApiError {
    fn from(error: RevokeSessionError) -> Self {
        match error {
            RevokeSessionError::NotFound => ApiError::not_found(),
            RevokeSessionError::Caller(e) => e.into(),
            RevokeSessionError::Port(e) => e.into(),
        }
    }
}

impl From<RevokeAllSessionsError> for ApiError {
    fn from(error: RevokeAllSessionsError) -> Self {
        match error {
            RevokeAllSessionsError::Caller(e) => e.into(),
            RevokeAllSessionsError::Port(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;

    use super::*;

    fn status_and_code(error: impl Into<ApiError>) -> (u16, &'static str) {
        let error = error.into();
        (error.status_code().as_u16(), error.code())
    }

    #[test]
    fn callers_are_refused_with_the_contracts_codes() {
        assert_eq!(
            status_and_code(CallerError::SessionEnded),
            (401, "AUTH_TOKEN_REVOKED")
        );
        assert_eq!(
            status_and_code(CallerError::Disabled),
            (403, "ACCOUNT_DISABLED")
        );
        assert_eq!(
            status_and_code(CallerError::Gone),
            (401, "AUTH_TOKEN_INVALID")
        );
        assert_eq!(
            status_and_code(CallerError::Port(PortError::Unavailable(anyhow::anyhow!(
                "down"
            )))),
            (503, "SERVICE_UNAVAILABLE")
        );
    }

    #[test]
    fn an_unverified_email_is_forbidden() {
        assert_eq!(
            status_and_code(LoginError::EmailNotVerified),
            (403, "EMAIL_NOT_VERIFIED")
        );
    }

    #[test]
    fn another_users_session_is_not_found() {
        assert_eq!(
            status_and_code(RevokeSessionError::NotFound),
            (404, "NOT_FOUND")
        );
    }

    #[test]
    fn a_revoked_token_is_challenged_like_an_invalid_one() {
        let response = ApiError::from(CallerError::SessionEnded).error_response();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(challenge.starts_with("Bearer"), "{challenge}");
    }
}
