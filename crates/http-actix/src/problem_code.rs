//! Every machine `code` a problem body can carry: the contract's list, so
//! a route names a code by its variant, and a new code is added here or
//! nowhere. Each code has one title; the status is the route's to choose
//! (the same wrong password is 401 at sign-in, 403 when confirming).

/// A stable SCREAMING_SNAKE problem code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemCode {
    AccountDisabled,
    ApiKeyInvalid,
    ApiKeyLimit,
    ApiKeyNotAllowed,
    AuthTokenExpired,
    AuthTokenInvalid,
    AuthTokenMissing,
    AuthTokenRevoked,
    BadRequest,
    EmailNotVerified,
    EmailTaken,
    Forbidden,
    InternalError,
    InvalidCredentials,
    LastAdmin,
    MalformedRequest,
    MethodNotAllowed,
    MfaAlreadyEnabled,
    MfaInvalid,
    MfaRequired,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    RateLimited,
    ReauthRequired,
    RefreshTokenInvalid,
    RefreshTokenReused,
    ResetTokenInvalid,
    ServiceUnavailable,
    TooManyAttempts,
    UnsupportedMediaType,
    ValidationFailed,
    VerifyTokenInvalid,
}

impl ProblemCode {
    /// Every code, for the catalogue's tests.
    pub const ALL: [Self; 33] = [
        Self::AccountDisabled,
        Self::ApiKeyInvalid,
        Self::ApiKeyLimit,
        Self::ApiKeyNotAllowed,
        Self::AuthTokenExpired,
        Self::AuthTokenInvalid,
        Self::AuthTokenMissing,
        Self::AuthTokenRevoked,
        Self::BadRequest,
        Self::EmailNotVerified,
        Self::EmailTaken,
        Self::Forbidden,
        Self::InternalError,
        Self::InvalidCredentials,
        Self::LastAdmin,
        Self::MalformedRequest,
        Self::MethodNotAllowed,
        Self::MfaAlreadyEnabled,
        Self::MfaInvalid,
        Self::MfaRequired,
        Self::NotFound,
        Self::Overloaded,
        Self::PayloadTooLarge,
        Self::RateLimited,
        Self::ReauthRequired,
        Self::RefreshTokenInvalid,
        Self::RefreshTokenReused,
        Self::ResetTokenInvalid,
        Self::ServiceUnavailable,
        Self::TooManyAttempts,
        Self::UnsupportedMediaType,
        Self::ValidationFailed,
        Self::VerifyTokenInvalid,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccountDisabled => "ACCOUNT_DISABLED",
            Self::ApiKeyInvalid => "API_KEY_INVALID",
            Self::ApiKeyLimit => "API_KEY_LIMIT",
            Self::ApiKeyNotAllowed => "API_KEY_NOT_ALLOWED",
            Self::AuthTokenExpired => "AUTH_TOKEN_EXPIRED",
            Self::AuthTokenInvalid => "AUTH_TOKEN_INVALID",
            Self::AuthTokenMissing => "AUTH_TOKEN_MISSING",
            Self::AuthTokenRevoked => "AUTH_TOKEN_REVOKED",
            Self::BadRequest => "BAD_REQUEST",
            Self::EmailNotVerified => "EMAIL_NOT_VERIFIED",
            Self::EmailTaken => "EMAIL_TAKEN",
            Self::Forbidden => "FORBIDDEN",
            Self::InternalError => "INTERNAL_ERROR",
            Self::InvalidCredentials => "INVALID_CREDENTIALS",
            Self::LastAdmin => "LAST_ADMIN",
            Self::MalformedRequest => "MALFORMED_REQUEST",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::MfaAlreadyEnabled => "MFA_ALREADY_ENABLED",
            Self::MfaInvalid => "MFA_INVALID",
            Self::MfaRequired => "MFA_REQUIRED",
            Self::NotFound => "NOT_FOUND",
            Self::Overloaded => "OVERLOADED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::RateLimited => "RATE_LIMITED",
            Self::ReauthRequired => "REAUTH_REQUIRED",
            Self::RefreshTokenInvalid => "REFRESH_TOKEN_INVALID",
            Self::RefreshTokenReused => "REFRESH_TOKEN_REUSED",
            Self::ResetTokenInvalid => "RESET_TOKEN_INVALID",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::TooManyAttempts => "TOO_MANY_ATTEMPTS",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::ValidationFailed => "VALIDATION_FAILED",
            Self::VerifyTokenInvalid => "VERIFY_TOKEN_INVALID",
        }
    }

    /// The short, human summary that goes with the code (RFC 9457 `title`).
    pub const fn title(self) -> &'static str {
        match self {
            Self::AccountDisabled => "Account disabled",
            Self::ApiKeyInvalid => "Invalid API key",
            Self::ApiKeyLimit => "Too many API keys",
            Self::ApiKeyNotAllowed => "API key not allowed",
            Self::AuthTokenExpired => "Expired access token",
            Self::AuthTokenInvalid => "Invalid access token",
            Self::AuthTokenMissing => "Authentication required",
            Self::AuthTokenRevoked => "Revoked access token",
            Self::BadRequest => "Bad request",
            Self::EmailNotVerified => "Email not verified",
            Self::EmailTaken => "Email taken",
            Self::Forbidden => "Forbidden",
            Self::InternalError => "Internal error",
            Self::InvalidCredentials => "Invalid credentials",
            Self::LastAdmin => "Last admin",
            Self::MalformedRequest => "Malformed request",
            Self::MethodNotAllowed => "Method not allowed",
            Self::MfaAlreadyEnabled => "MFA already enabled",
            Self::MfaInvalid => "Invalid code",
            Self::MfaRequired => "Second factor required",
            Self::NotFound => "Not found",
            Self::Overloaded => "Overloaded",
            Self::PayloadTooLarge => "Payload too large",
            Self::RateLimited => "Too many requests",
            Self::ReauthRequired => "Recent authentication required",
            Self::RefreshTokenInvalid => "Invalid refresh token",
            Self::RefreshTokenReused => "Refresh token reused",
            Self::ResetTokenInvalid => "Invalid reset link",
            Self::ServiceUnavailable => "Service unavailable",
            Self::TooManyAttempts => "Too many attempts",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::ValidationFailed => "Validation failed",
            Self::VerifyTokenInvalid => "Invalid verification link",
        }
    }
}

impl std::fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
