//! `/v1/users/me/sessions`: the caller's live sessions, and ending one or
//! all of them.

use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_application::Ports;
use gatehouse_application::use_cases::sessions::{
    ListSessions, ListSessionsError, ListedSession, RevokeAllSessions, RevokeAllSessionsError,
    RevokeSession, RevokeSessionError,
};
use gatehouse_domain::SessionId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::bearer::Bearer;
use crate::body::rfc3339;
use crate::client::client_info;
use crate::problem::{ApiError, Problem};

/// Mounts the area's routes.
pub fn configure<P: Ports>(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/v1/users/me/sessions")
                .route(web::get().to(list::<P>))
                .route(web::delete().to(revoke_all::<P>)),
        )
        .service(web::resource("/v1/users/me/sessions/{id}").route(web::delete().to(revoke::<P>)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub id: uuid::Uuid,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub last_used_at: String,
    /// The session's absolute end, however often it is refreshed.
    pub expires_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Whether this is the session of the access token making the call.
    pub current: bool,
}

impl From<ListedSession> for SessionResponse {
    fn from(listed: ListedSession) -> Self {
        let s = listed.session;
        Self {
            id: s.id.as_uuid(),
            created_at: rfc3339(s.created_at),
            last_used_at: rfc3339(s.last_used_at),
            expires_at: rfc3339(s.expires_at),
            ip: s.ip,
            user_agent: s.user_agent,
            current: listed.current,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsResponse {
    pub items: Vec<SessionResponse>,
}

/// The caller's live sessions, most recently used first.
#[utoipa::path(
    get, path = "/v1/users/me/sessions", operation_id = "list_sessions", tag = "sessions", security(("bearer" = [])),
    responses(
        (status = 200, description = "Live sessions", body = SessionsResponse),
        (status = 401, description = "`AUTH_TOKEN_MISSING`, `AUTH_TOKEN_INVALID`, `AUTH_TOKEN_EXPIRED` or `AUTH_TOKEN_REVOKED`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`ACCOUNT_DISABLED`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
) -> Result<HttpResponse, ApiError> {
    let sessions = ListSessions::new(&**ports).execute(&claims).await?;
    // Addresses and user agents are personal data: no cache keeps them.
    Ok(super::no_store(HttpResponse::Ok().json(SessionsResponse {
        items: sessions.into_iter().map(SessionResponse::from).collect(),
    })))
}

/// Ends one of the caller's sessions (the current one too, if named).
#[utoipa::path(
    delete, path = "/v1/users/me/sessions/{id}", operation_id = "revoke_session", tag = "sessions", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Ended (or already ended)"),
        (status = 401, description = "`AUTH_TOKEN_MISSING`, `AUTH_TOKEN_INVALID`, `AUTH_TOKEN_EXPIRED` or `AUTH_TOKEN_REVOKED`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`ACCOUNT_DISABLED`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`NOT_FOUND`: no such session of the caller's (another user's answers the same)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    id: web::Path<String>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    // A malformed id names no session. It still goes through the use case
    // (as the nil id, which no session has), so the caller is checked
    // first and a revoked token gets 401, not 404.
    let session_id = SessionId::from_uuid(uuid::Uuid::parse_str(&id).unwrap_or_default());
    RevokeSession::new(&**ports)
        .execute(&claims, session_id, &client_info(&request))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ends every session of the caller, the current one included.
#[utoipa::path(
    delete, path = "/v1/users/me/sessions", tag = "sessions", security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session ended"),
        (status = 401, description = "`AUTH_TOKEN_MISSING`, `AUTH_TOKEN_INVALID`, `AUTH_TOKEN_EXPIRED` or `AUTH_TOKEN_REVOKED`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`ACCOUNT_DISABLED`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_all<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    RevokeAllSessions::new(&**ports)
        .execute(&claims, &client_info(&request))
        .await?;
    Ok(HttpResponse::NoContent().finish())
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

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, revoke, revoke_all),
    components(schemas(SessionResponse, SessionsResponse))
)]
pub(crate) struct Api;
