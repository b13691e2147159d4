//! Request and response bodies. Request fields are `Option` so that a
//! missing field is a 422 with the others' errors, not a parse failure.

use chrono::SecondsFormat;
use garde::Validate;
use gatehouse_application::use_cases::TokenPair;
use gatehouse_domain::{Role, Timestamp, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Passwords are checked by the domain (8 to 128 code points); this only
/// caps the work an oversized value could cause.
pub(crate) const MAX_RAW_PASSWORD: usize = 1024;

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RegisterBody {
    #[garde(required, length(chars, max = 254))]
    #[schema(value_type = String, required = true, format = Email, example = "ada@example.com", max_length = 254)]
    pub email: Option<String>,
    #[garde(required, length(chars, max = MAX_RAW_PASSWORD))]
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128)]
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct LoginBody {
    #[garde(required, length(chars, max = 254))]
    #[schema(value_type = String, required = true, format = Email, max_length = 254)]
    pub email: Option<String>,
    #[garde(required, length(chars, max = MAX_RAW_PASSWORD))]
    #[schema(value_type = String, required = true, max_length = 1024)]
    pub password: Option<String>,
    /// With MFA on: the code of the authenticator app (six digits) or a
    /// backup code. Ignored otherwise.
    #[garde(length(chars, max = 64))]
    #[schema(max_length = 64)]
    pub otp: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct ReauthBody {
    #[garde(required, length(chars, max = MAX_RAW_PASSWORD))]
    #[schema(value_type = String, required = true, max_length = 1024)]
    pub password: Option<String>,
    /// With MFA on: a current code of the authenticator app, or a backup code.
    #[garde(length(chars, max = 64))]
    #[schema(max_length = 64)]
    pub otp: Option<String>,
}

/// An access token of the same session, its `auth_time` now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReauthResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RefreshBody {
    #[garde(required, length(chars, max = 512))]
    #[schema(value_type = String, required = true, max_length = 512)]
    pub refresh_token: Option<String>,
}

/// A role, as the API spells it. (Bodies read it as a string, so that a
/// wrong one is a field error rather than a malformed body.)
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    User,
    Admin,
}

impl From<Role> for RoleName {
    fn from(role: Role) -> Self {
        match role {
            Role::User => Self::User,
            Role::Admin => Self::Admin,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: uuid::Uuid,
    pub email: String,
    #[schema(example = "user")]
    pub role: RoleName,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    pub disabled: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
}

pub fn rfc3339(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email.as_str().to_owned(),
            role: user.role.into(),
            email_verified: user.email_verified,
            mfa_enabled: user.mfa_enabled,
            disabled: user.disabled,
            created_at: rfc3339(user.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
    pub refresh_token: String,
}

impl From<TokenPair> for TokenResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token.expose().to_owned(),
            token_type: "Bearer",
            expires_in: pair.expires_in.as_secs(),
            refresh_token: pair.refresh_token.expose().to_owned(),
        }
    }
}

/// The new user, and (unless verified email is required) a first token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    pub user: UserResponse,
    #[serde(flatten)]
    pub tokens: Option<TokenResponse>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    #[schema(example = "ok")]
    pub status: &'static str,
}
