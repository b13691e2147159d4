//! `/v1/auth/*`: register, login, reauth, refresh, logout.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use garde::Validate;
use gatehouse_application::Ports;
use gatehouse_application::use_cases::{
    Login, LoginCommand, LoginError, Logout, LogoutError, ReauthError, Reauthenticate, Register,
    RegisterCommand, RegisterError, RotateRefreshToken, RotateRefreshTokenError, TokenPair,
};
use gatehouse_domain::{DisplayName, Email, Password, SecretString};

use super::no_store;
use crate::bearer::Bearer;
use crate::body::{FieldErrors, MAX_RAW_PASSWORD};
use crate::client::client_info;
use crate::metrics::{LoginOutcome, Metrics, RefreshOutcome};
use crate::problem::{ApiError, Problem};
use crate::problem_code::ProblemCode;
use crate::routes::users::UserResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct RegisterBody {
    #[garde(required, length(chars, max = 254))]
    #[schema(value_type = String, required = true, format = Email, example = "ada@example.com", max_length = 254)]
    pub email: Option<String>,
    #[garde(required, length(chars, max = MAX_RAW_PASSWORD))]
    #[schema(value_type = String, required = true, min_length = 8, max_length = 128)]
    pub password: Option<String>,
    /// A display name: 1 to 100 characters once trimmed.
    #[garde(length(chars, max = 1024))]
    #[schema(example = "Ada Lovelace", min_length = 1, max_length = 1024)]
    pub name: Option<String>,
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

impl From<RegisterError> for ApiError {
    fn from(error: RegisterError) -> Self {
        match error {
            RegisterError::EmailTaken => ApiError::new(
                StatusCode::CONFLICT,
                ProblemCode::EmailTaken,
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
                ProblemCode::InvalidCredentials,
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
                ProblemCode::RefreshTokenInvalid,
                "The refresh token is unknown, expired or revoked; sign in again.",
            ),
            RotateRefreshTokenError::Reused => ApiError::new(
                StatusCode::UNAUTHORIZED,
                ProblemCode::RefreshTokenReused,
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

/// Create an account (role `user`), mail it a verification link, and sign it
/// in (unless a verified email is required first: then the answer holds the
/// user only).
#[utoipa::path(
    post, path = "/v1/auth/register", tag = "auth", request_body = RegisterBody,
    responses(
        (status = 201, description = "Account created", body = RegisterResponse),
        (status = 409, description = "`EMAIL_TAKEN`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`OVERLOADED`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register<P: Ports>(
    ports: web::Data<P>,
    request: HttpRequest,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::from_garde(&*body);
    let email = errors.parse("email", body.email.as_deref(), Email::parse);
    let rules = ports.policy().password_rules;
    let password = errors.parse("password", body.password.as_deref(), |raw| {
        Password::new(raw, &rules, email.as_ref())
    });
    let name = errors.parse("name", body.name.as_deref(), DisplayName::parse);
    errors.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::malformed("email and password are required"));
    };
    let registered = Register::new(&**ports)
        .execute(RegisterCommand {
            email,
            password,
            name,
            client: client_info(&request),
        })
        .await?;
    let response = RegisterResponse {
        user: registered.user.into(),
        tokens: registered.tokens.map(Into::into),
    };
    Ok(no_store(HttpResponse::Created().json(response)))
}

/// Exchange email and password for a token pair.
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "`INVALID_CREDENTIALS`; with MFA on, after the password matched: `MFA_REQUIRED` (no `otp`) or `MFA_INVALID` (wrong or spent code)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`ACCOUNT_DISABLED`, or `EMAIL_NOT_VERIFIED` when a verified email is required (only ever after the password matched)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`TOO_MANY_ATTEMPTS`: too many consecutive failures for this email (known or not); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`OVERLOADED`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login<P: Ports>(
    ports: web::Data<P>,
    metrics: web::Data<Metrics>,
    request: HttpRequest,
    body: web::Json<LoginBody>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::from_garde(&*body);
    let email = errors.parse("email", body.email.as_deref(), Email::parse);
    let password = errors.parse("password", body.password.as_deref(), |raw| {
        Ok::<_, std::convert::Infallible>(Password::presented(raw))
    });
    errors.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::malformed("email and password are required"));
    };
    let outcome = Login::new(&**ports)
        .execute(LoginCommand {
            // A form that always sends the field sends it blank: no code.
            otp: body
                .otp
                .as_deref()
                .filter(|otp| !otp.trim().is_empty())
                .map(SecretString::new),
            email,
            password,
            client: client_info(&request),
        })
        .await;
    metrics.login(match &outcome {
        Ok(_) => LoginOutcome::Success,
        Err(LoginError::InvalidCredentials) => LoginOutcome::InvalidCredentials,
        Err(LoginError::AccountDisabled) => LoginOutcome::AccountDisabled,
        Err(LoginError::EmailNotVerified) => LoginOutcome::EmailNotVerified,
        Err(LoginError::MfaRequired) => LoginOutcome::MfaRequired,
        Err(LoginError::MfaInvalid) => LoginOutcome::MfaInvalid,
        Err(LoginError::Throttled { .. }) => LoginOutcome::Locked,
        Err(LoginError::Overloaded { .. }) => LoginOutcome::Overloaded,
        Err(LoginError::Port(_)) => LoginOutcome::Error,
    });
    let tokens = outcome?;
    Ok(no_store(
        HttpResponse::Ok().json(TokenResponse::from(tokens)),
    ))
}

fn refresh_token(body: &RefreshBody) -> Result<&str, ApiError> {
    FieldErrors::from_garde(body).finish()?;
    body.refresh_token
        .as_deref()
        .ok_or_else(|| ApiError::malformed("refresh_token is required"))
}

/// Rotate a refresh token: the presented one dies, a new pair is issued.
#[utoipa::path(
    post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 200, description = "A new pair", body = TokenResponse),
        (status = 401, description = "`REFRESH_TOKEN_INVALID` or `REFRESH_TOKEN_REUSED`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refresh<P: Ports>(
    ports: web::Data<P>,
    metrics: web::Data<Metrics>,
    request: HttpRequest,
    body: web::Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let token = refresh_token(&body)?;
    let outcome = RotateRefreshToken::new(&**ports)
        .execute(token, &client_info(&request))
        .await;
    metrics.refresh(match &outcome {
        Ok(_) => RefreshOutcome::Success,
        Err(RotateRefreshTokenError::Invalid) => RefreshOutcome::Invalid,
        Err(RotateRefreshTokenError::Reused) => RefreshOutcome::ReuseDetected,
        Err(RotateRefreshTokenError::Port(_)) => RefreshOutcome::Error,
    });
    let tokens = outcome?;
    Ok(no_store(
        HttpResponse::Ok().json(TokenResponse::from(tokens)),
    ))
}

/// End the session the refresh token belongs to. Unknown tokens also get 204.
#[utoipa::path(
    post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 204, description = "Signed out (or nothing to do)"),
        (status = 422, description = "`VALIDATION_FAILED`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn logout<P: Ports>(
    ports: web::Data<P>,
    request: HttpRequest,
    body: web::Json<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let token = refresh_token(&body)?;
    Logout::new(&**ports)
        .execute(token, &client_info(&request))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Prove the password (and a code, with MFA on) again in the current
/// session: a new access token of the same session whose `auth_time` is
/// now, for operations that need a recent authentication.
#[utoipa::path(
    post, path = "/v1/auth/reauth", tag = "auth", request_body = ReauthBody, security(("bearer" = [])),
    responses(
        (status = 200, description = "Reauthenticated", body = ReauthResponse),
        (status = 401, description = "`MFA_REQUIRED` (no `otp` with MFA on), `MFA_INVALID`, or a session error: `AUTH_TOKEN_MISSING`, `AUTH_TOKEN_INVALID`, `AUTH_TOKEN_EXPIRED`, `AUTH_TOKEN_REVOKED`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`INVALID_CREDENTIALS`, `ACCOUNT_DISABLED` or `API_KEY_NOT_ALLOWED`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`TOO_MANY_ATTEMPTS`: failures count towards the account's lockout, as failed logins do", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`OVERLOADED` or `SERVICE_UNAVAILABLE`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reauth<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    request: HttpRequest,
    body: web::Json<ReauthBody>,
) -> Result<HttpResponse, ApiError> {
    FieldErrors::from_garde(&*body).finish()?;
    let Some(password) = body.password.as_deref() else {
        return Err(ApiError::malformed("password is required"));
    };
    let fresh = Reauthenticate::new(&**ports)
        .execute(
            &claims,
            Password::presented(password),
            body.otp.as_deref(),
            &client_info(&request),
        )
        .await?;
    Ok(no_store(HttpResponse::Ok().json(ReauthResponse {
        access_token: fresh.access_token.expose().to_owned(),
        token_type: "Bearer",
        expires_in: fresh.expires_in.as_secs(),
    })))
}

impl From<ReauthError> for ApiError {
    fn from(error: ReauthError) -> Self {
        match error {
            ReauthError::InvalidCredentials => {
                ApiError::wrong_password("The password is not correct.")
            }
            ReauthError::MfaRequired => ApiError::mfa_required(),
            ReauthError::MfaInvalid => {
                ApiError::mfa_invalid(actix_web::http::StatusCode::UNAUTHORIZED)
            }
            ReauthError::Throttled { retry_after } => ApiError::too_many_attempts(retry_after),
            ReauthError::Overloaded { retry_after } => ApiError::overloaded(retry_after),
            ReauthError::Caller(e) => e.into(),
            ReauthError::Port(e) => e.into(),
        }
    }
}

pub fn configure<P: Ports>(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/v1/auth/register").route(web::post().to(register::<P>)))
        .service(web::resource("/v1/auth/login").route(web::post().to(login::<P>)))
        .service(web::resource("/v1/auth/reauth").route(web::post().to(reauth::<P>)))
        .service(web::resource("/v1/auth/refresh").route(web::post().to(refresh::<P>)))
        .service(web::resource("/v1/auth/logout").route(web::post().to(logout::<P>)));
}

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(register, login, reauth, refresh, logout),
    components(schemas(
        RegisterBody,
        LoginBody,
        ReauthBody,
        ReauthResponse,
        RefreshBody,
        RegisterResponse,
        TokenResponse
    ))
)]
pub(crate) struct Api;
