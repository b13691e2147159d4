//! Every problem body the API can send, as one snapshot: each use-case
//! error variant through its mapping, and each refusal the HTTP layer
//! makes itself, with status and the headers a client acts on. A changed
//! body shows in review as a changed file; a new code missing here fails.

use std::collections::BTreeSet;
use std::time::Duration;

use actix_web::ResponseError;
use actix_web::http::StatusCode;
use gatehouse_application::PortError;
use gatehouse_application::use_cases::admin::AdminError;
use gatehouse_application::use_cases::api_keys::{ApiKeyError, KeyError};
use gatehouse_application::use_cases::email::{ResendVerificationError, VerifyEmailError};
use gatehouse_application::use_cases::mfa::MfaError;
use gatehouse_application::use_cases::password::{
    ChangePasswordError, RequestPasswordResetError, ResetPasswordError,
};
use gatehouse_application::use_cases::sessions::{
    ListSessionsError, RevokeAllSessionsError, RevokeSessionError,
};
use gatehouse_application::use_cases::signed_in::CallerError;
use gatehouse_application::use_cases::{
    GetCurrentUserError, LoginError, LogoutError, ReauthError, RegisterError,
    RotateRefreshTokenError,
};
use gatehouse_domain::PasswordError;
use serde_json::{Value, json};

use crate::problem::{ApiError, FieldError};
use crate::problem_code::ProblemCode;

const WAIT: Duration = Duration::from_secs(30);

fn down() -> PortError {
    PortError::Unavailable(anyhow::anyhow!("connection refused"))
}

fn every_problem() -> Vec<(&'static str, ApiError)> {
    let weak = || PasswordError::TooShort { min: 8 };
    vec![
        ("port.unavailable", down().into()),
        (
            "port.conflict",
            PortError::Conflict(anyhow::anyhow!("serialization")).into(),
        ),
        (
            "port.unexpected",
            PortError::Unexpected(anyhow::anyhow!("corrupt row")).into(),
        ),
        ("caller.gone", CallerError::Gone.into()),
        ("caller.disabled", CallerError::Disabled.into()),
        ("caller.session_ended", CallerError::SessionEnded.into()),
        ("register.email_taken", RegisterError::EmailTaken.into()),
        (
            "register.weak_password",
            RegisterError::WeakPassword(PasswordError::Breached).into(),
        ),
        (
            "register.overloaded",
            RegisterError::Overloaded { retry_after: WAIT }.into(),
        ),
        (
            "login.invalid_credentials",
            LoginError::InvalidCredentials.into(),
        ),
        ("login.account_disabled", LoginError::AccountDisabled.into()),
        (
            "login.email_not_verified",
            LoginError::EmailNotVerified.into(),
        ),
        ("login.mfa_required", LoginError::MfaRequired.into()),
        ("login.mfa_invalid", LoginError::MfaInvalid.into()),
        (
            "login.throttled",
            LoginError::Throttled { retry_after: WAIT }.into(),
        ),
        (
            "login.overloaded",
            LoginError::Overloaded { retry_after: WAIT }.into(),
        ),
        ("refresh.invalid", RotateRefreshTokenError::Invalid.into()),
        ("refresh.reused", RotateRefreshTokenError::Reused.into()),
        ("logout.port", LogoutError::Port(down()).into()),
        (
            "reauth.invalid_credentials",
            ReauthError::InvalidCredentials.into(),
        ),
        ("reauth.mfa_required", ReauthError::MfaRequired.into()),
        ("reauth.mfa_invalid", ReauthError::MfaInvalid.into()),
        (
            "reauth.throttled",
            ReauthError::Throttled { retry_after: WAIT }.into(),
        ),
        (
            "reauth.overloaded",
            ReauthError::Overloaded { retry_after: WAIT }.into(),
        ),
        (
            "me.caller",
            GetCurrentUserError::Caller(CallerError::Gone).into(),
        ),
        ("api_key.invalid", KeyError::Invalid.into()),
        ("api_key.disabled", KeyError::Disabled.into()),
        ("api_keys.invalid_name", ApiKeyError::InvalidName.into()),
        ("api_keys.invalid_expiry", ApiKeyError::InvalidExpiry.into()),
        ("api_keys.limit_reached", ApiKeyError::LimitReached.into()),
        ("api_keys.not_found", ApiKeyError::NotFound.into()),
        (
            "api_keys.reauth_required",
            ApiKeyError::ReauthRequired.into(),
        ),
        (
            "sessions.list",
            ListSessionsError::Caller(CallerError::SessionEnded).into(),
        ),
        ("sessions.not_found", RevokeSessionError::NotFound.into()),
        (
            "sessions.revoke_all",
            RevokeAllSessionsError::Port(down()).into(),
        ),
        (
            "password.forgot",
            RequestPasswordResetError::Port(down()).into(),
        ),
        (
            "password.reset_invalid",
            ResetPasswordError::InvalidToken.into(),
        ),
        (
            "password.reset_weak",
            ResetPasswordError::WeakPassword(weak()).into(),
        ),
        (
            "password.reset_overloaded",
            ResetPasswordError::Overloaded { retry_after: WAIT }.into(),
        ),
        (
            "password.change_invalid",
            ChangePasswordError::InvalidCredentials.into(),
        ),
        (
            "password.change_weak",
            ChangePasswordError::WeakPassword(PasswordError::EqualsEmail).into(),
        ),
        (
            "password.change_throttled",
            ChangePasswordError::Throttled { retry_after: WAIT }.into(),
        ),
        (
            "password.change_overloaded",
            ChangePasswordError::Overloaded { retry_after: WAIT }.into(),
        ),
        (
            "email.verify_invalid",
            VerifyEmailError::InvalidToken.into(),
        ),
        (
            "email.resend",
            ResendVerificationError::Caller(CallerError::Disabled).into(),
        ),
        ("mfa.already_enabled", MfaError::AlreadyEnabled.into()),
        ("mfa.email_not_verified", MfaError::EmailNotVerified.into()),
        ("mfa.invalid_code", MfaError::InvalidCode.into()),
        (
            "mfa.invalid_credentials",
            MfaError::InvalidCredentials.into(),
        ),
        ("mfa.mfa_invalid", MfaError::MfaInvalid.into()),
        ("mfa.reauth_required", MfaError::ReauthRequired.into()),
        (
            "mfa.throttled",
            MfaError::Throttled { retry_after: WAIT }.into(),
        ),
        (
            "mfa.overloaded",
            MfaError::Overloaded { retry_after: WAIT }.into(),
        ),
        ("admin.forbidden", AdminError::Forbidden.into()),
        ("admin.last_admin", AdminError::LastAdmin.into()),
        ("admin.not_found", AdminError::NotFound.into()),
        (
            "http.validation",
            ApiError::validation(vec![FieldError::new(
                "email",
                "email",
                "not an email address",
            )]),
        ),
        (
            "http.malformed",
            ApiError::malformed("The body is not valid JSON."),
        ),
        ("http.token_missing", ApiError::token_missing()),
        ("http.token_invalid", ApiError::token_invalid()),
        ("http.token_expired", ApiError::token_expired()),
        ("http.api_key_not_allowed", ApiError::api_key_not_allowed()),
        ("http.reauth_required", ApiError::reauth_required()),
        (
            "http.rate_limited",
            ApiError::rate_limited(Duration::from_millis(2_500)),
        ),
        (
            "http.not_found",
            ApiError::from_status(StatusCode::NOT_FOUND),
        ),
        (
            "http.method_not_allowed",
            ApiError::from_status(StatusCode::METHOD_NOT_ALLOWED),
        ),
        (
            "http.payload_too_large",
            ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE),
        ),
        (
            "http.unsupported_media_type",
            ApiError::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ),
        (
            "http.other_client_error",
            ApiError::from_status(StatusCode::URI_TOO_LONG),
        ),
        (
            "http.other_server_error",
            ApiError::from_status(StatusCode::BAD_GATEWAY),
        ),
    ]
}

async fn rendered(error: &ApiError) -> Value {
    let response = error.error_response();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or_default().to_owned())
    };
    let mut headers = serde_json::Map::new();
    for name in [
        "content-type",
        "cache-control",
        "retry-after",
        "www-authenticate",
    ] {
        if let Some(value) = header(name) {
            headers.insert(name.to_owned(), value.into());
        }
    }
    let status = response.status().as_u16();
    let bytes = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    json!({ "status": status, "headers": headers, "body": body })
}

#[actix_web::test]
async fn every_problem_body() {
    let mut catalogue = serde_json::Map::new();
    let mut codes = BTreeSet::new();
    for (name, error) in every_problem() {
        codes.insert(error.code().as_str());
        let shown = rendered(&error).await;
        assert_eq!(shown["body"]["code"], error.code().as_str(), "{name}");
        assert!(
            catalogue.insert(name.to_owned(), shown).is_none(),
            "{name} twice"
        );
    }
    let missing: Vec<_> = ProblemCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !codes.contains(c))
        .collect();
    assert!(missing.is_empty(), "codes no case shows: {missing:?}");
    insta::assert_json_snapshot!(Value::Object(catalogue));
}

#[test]
fn no_problem_body_names_its_cause() {
    // The causes above ("connection refused", "corrupt row") are logged,
    // never sent.
    for (name, error) in every_problem() {
        let text = format!("{:?}", error.error_response().body());
        for secret in ["connection refused", "corrupt row", "serialization"] {
            assert!(!text.contains(secret), "{name} shows {secret}");
        }
    }
}
