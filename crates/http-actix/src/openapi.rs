//! The OpenAPI 3.1 document, generated from the handlers' annotations and
//! the DTO types, so it cannot drift from the code.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto::{
    HealthResponse, LoginBody, RefreshBody, RegisterBody, RegisterResponse, TokenResponse,
    UserResponse,
};
use crate::handlers::admin::{AuditEventResponse, AuditPageResponse, UpdateUserBody, UsersPage};
use crate::handlers::api_keys::{
    ApiKeyResponse, ApiKeysResponse, CreateApiKeyBody, CreatedApiKeyResponse,
};
use crate::handlers::email::VerifyEmailBody;
use crate::handlers::introspection::{IntrospectBody, IntrospectionResponse};
use crate::handlers::jwks::{JwkResponse, JwksResponse};
use crate::handlers::password::{ChangePasswordBody, ForgotPasswordBody, ResetPasswordBody};
use crate::handlers::sessions::{SessionResponse, SessionsResponse};
use crate::handlers::{
    admin, api_keys, auth, email, health, introspection, jwks, password, sessions, users,
};
use crate::metrics;
use crate::problem::{FieldError, Problem};

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse",
        description = "Authentication service: accounts, rotating refresh tokens, sessions, password reset and email verification by mail. Every error is RFC 9457 `application/problem+json` with a stable `code`.",
    ),
    paths(
        auth::register, auth::login, auth::refresh, auth::logout,
        password::forgot, password::reset, email::verify, introspection::introspect,
        users::me, password::change, email::resend,
        sessions::list, sessions::revoke, sessions::revoke_all,
        admin::list_users, admin::get_user, admin::update_user, admin::revoke_sessions,
        admin::audit_events,
        api_keys::create, api_keys::list, api_keys::revoke,
        health::live, health::ready, jwks::jwks, metrics::metrics,
    ),
    components(schemas(
        RegisterBody, LoginBody, RefreshBody, RegisterResponse, TokenResponse, UserResponse,
        IntrospectBody, IntrospectionResponse, UsersPage, UpdateUserBody, AuditEventResponse,
        AuditPageResponse, CreateApiKeyBody, ApiKeyResponse, CreatedApiKeyResponse, ApiKeysResponse, ChangePasswordBody, ForgotPasswordBody, ResetPasswordBody, VerifyEmailBody, SessionResponse, SessionsResponse, HealthResponse, JwkResponse, JwksResponse, Problem, FieldError,
    )),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Sign-up, sign-in and the token lifecycle"),
        (name = "users", description = "The caller's own account"),
        (name = "sessions", description = "The caller's sessions (refresh-token families): list, end one, end all"),
        (name = "api-keys", description = "Keys with which scripts and services act as the caller (managed from a session)"),
        (name = "admin", description = "Users and the audit trail, for admins (the role is checked in the store on every call)"),
        (name = "health", description = "Probes for orchestrators, and the public keys of token verification"),
    ),
)]
struct ApiDoc;

/// The document as served at `/openapi.json`.
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.paths.paths.insert(
        "/openapi.json".to_owned(),
        utoipa::openapi::path::PathItem::new(
            utoipa::openapi::HttpMethod::Get,
            utoipa::openapi::path::OperationBuilder::new()
                .summary(Some("This document"))
                .response(
                    "200",
                    utoipa::openapi::Response::new("OpenAPI 3.1 document"),
                ),
        ),
    );
    doc.to_json().unwrap_or_else(|_| "{}".to_owned())
}
