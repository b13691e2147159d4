//! `/v1/admin/*`: users and the audit trail, for admins. Pages are
//! addressed by opaque cursors: what they encode (a user id, or an event's
//! time and id) is ours to change.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use garde::Validate;
use gatehouse_application::Ports;
use gatehouse_application::use_cases::admin::{
    AdminError, DEFAULT_PAGE, GetUser, ListAuditEvents, ListUserSessions, ListUsers, MAX_PAGE,
    RemoveUserMfa, RevokeUserSessions, SendPasswordReset, UpdateUser,
};
use gatehouse_application::use_cases::sessions::ListedSession;
use gatehouse_domain::{AuditEvent, AuditKind, Role, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::routes::users::RoleName;

use super::no_store;
use crate::bearer::Bearer;
use crate::body::rfc3339;
use crate::body::{FieldErrors, FieldIssue};
use crate::client::client_info;
use crate::problem::{ApiError, Problem};
use crate::problem_code::ProblemCode;
use crate::routes::sessions::{SessionResponse, SessionsResponse};
use crate::routes::users::UserResponse;

/// Mounts the area's routes.
pub fn configure<P: Ports>(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/v1/admin/users").route(web::get().to(list_users::<P>)))
        .service(
            web::resource("/v1/admin/users/{id}")
                .route(web::get().to(get_user::<P>))
                .route(web::patch().to(update_user::<P>)),
        )
        .service(
            web::resource("/v1/admin/users/{id}/sessions")
                .route(web::get().to(user_sessions::<P>))
                .route(web::delete().to(revoke_sessions::<P>)),
        )
        .service(
            web::resource("/v1/admin/users/{id}/password-reset")
                .route(web::post().to(send_password_reset::<P>)),
        )
        .service(web::resource("/v1/admin/users/{id}/mfa").route(web::delete().to(remove_mfa::<P>)))
        .service(web::resource("/v1/admin/audit-events").route(web::get().to(audit_events::<P>)));
}

impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Forbidden => ApiError::new(
                StatusCode::FORBIDDEN,
                ProblemCode::Forbidden,
                "This needs the admin role.",
            ),
            AdminError::NotFound => ApiError::not_found(),
            AdminError::LastAdmin => ApiError::new(
                StatusCode::CONFLICT,
                ProblemCode::LastAdmin,
                "The last active admin cannot be demoted or disabled.",
            ),
            AdminError::Caller(e) => e.into(),
            AdminError::Port(e) => e.into(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// 1 to 100; 50 when absent.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only users whose email contains this, in any case (1 to 254
    /// characters, matched literally).
    #[param(min_length = 1, max_length = 254)]
    pub email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsersPage {
    pub items: Vec<UserResponse>,
    /// For the next page; null on the last.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct UpdateUserBody {
    #[garde(skip)]
    #[schema(value_type = Option<RoleName>, example = "admin")]
    pub role: Option<String>,
    #[garde(skip)]
    pub disabled: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQueryParams {
    #[param(value_type = Option<uuid::Uuid>)]
    pub user_id: Option<String>,
    /// An audit kind, e.g. `login.failed`.
    pub kind: Option<String>,
    /// 1 to 100; 50 when absent.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventResponse {
    pub id: uuid::Uuid,
    /// RFC 3339, UTC.
    pub at: String,
    pub kind: &'static str,
    pub user_id: Option<uuid::Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEvent> for AuditEventResponse {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            at: rfc3339(e.at),
            kind: e.kind.as_str(),
            user_id: e.user_id.map(|u| u.as_uuid()),
            ip: e.client.ip,
            user_agent: e.client.user_agent,
            detail: e.detail,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageResponse {
    pub items: Vec<AuditEventResponse>,
    pub next_cursor: Option<String>,
}

fn limit(errors: &mut FieldErrors, raw: Option<&str>) -> u32 {
    errors
        .parse("limit", raw, |raw| match raw.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(FieldIssue::invalid(format!(
                "limit must be a whole number from 1 to {MAX_PAGE}"
            ))),
        })
        .unwrap_or(DEFAULT_PAGE)
}

fn bad_cursor() -> FieldIssue {
    FieldIssue::invalid("cursor is not one this service handed out")
}

fn user_cursor(after: UserId) -> String {
    URL_SAFE_NO_PAD.encode(after.as_uuid().as_bytes())
}

fn parse_user_cursor(raw: &str) -> Result<UserId, FieldIssue> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad_cursor())?;
    let uuid = uuid::Uuid::from_slice(&bytes).map_err(|_| bad_cursor())?;
    Ok(UserId::from_uuid(uuid))
}

fn audit_cursor((at, id): (Timestamp, uuid::Uuid)) -> String {
    let mut bytes = at.timestamp_micros().to_be_bytes().to_vec();
    bytes.extend_from_slice(id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn parse_audit_cursor(raw: &str) -> Result<(Timestamp, uuid::Uuid), FieldIssue> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad_cursor())?;
    let (micros, id) = bytes.split_at_checked(8).ok_or_else(bad_cursor)?;
    let micros = i64::from_be_bytes(micros.try_into().map_err(|_| bad_cursor())?);
    let at = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad_cursor)?;
    let id = uuid::Uuid::from_slice(id).map_err(|_| bad_cursor())?;
    Ok((at, id))
}

fn user_id(raw: &str) -> Result<UserId, FieldIssue> {
    uuid::Uuid::parse_str(raw)
        .map(UserId::from_uuid)
        .map_err(|_| FieldIssue::invalid("not a user id"))
}

/// A path id that is no UUID names no user.
fn path_user(id: &str) -> Result<UserId, ApiError> {
    user_id(id).map_err(|_| ApiError::not_found())
}

/// A part of an email to search for: 1 to 254 characters once trimmed.
fn email_fragment(raw: &str) -> Result<String, FieldIssue> {
    let trimmed = raw.trim();
    match trimmed.chars().count() {
        1..=254 => Ok(trimmed.to_owned()),
        _ => Err(FieldIssue::invalid("give 1 to 254 characters of an email")),
    }
}

const FORBIDDEN: &str = "`FORBIDDEN`: the caller is not an admin (checked in the store on every call), or `ACCOUNT_DISABLED`";
const UNAUTHORIZED: &str =
    "`AUTH_TOKEN_MISSING`, `AUTH_TOKEN_INVALID`, `AUTH_TOKEN_EXPIRED` or `AUTH_TOKEN_REVOKED`";

/// Users in a stable order (by id), a page at a time.
#[utoipa::path(
    get, path = "/v1/admin/users", tag = "admin", security(("bearer" = [])), params(UsersQuery),
    responses(
        (status = 200, body = UsersPage),
        (status = 400, description = "`BAD_REQUEST`: the query string repeats a parameter or cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = FORBIDDEN, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`: `limit`, `cursor` or `email`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_users<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let limit = limit(&mut errors, query.limit.as_deref());
    let after = errors.parse("cursor", query.cursor.as_deref(), parse_user_cursor);
    let email = errors.parse("email", query.email.as_deref(), email_fragment);
    errors.finish()?;
    let page = ListUsers::new(&**ports)
        .execute(&claims, after, limit, email.as_deref())
        .await?;
    Ok(no_store(HttpResponse::Ok().json(UsersPage {
        items: page.items.into_iter().map(UserResponse::from).collect(),
        next_cursor: page.next_after.map(user_cursor),
    })))
}

/// One user.
#[utoipa::path(
    get, path = "/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "User id")),
    responses(
        (status = 200, body = UserResponse),
        (status = 401, description = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = FORBIDDEN, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`NOT_FOUND`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_user<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = GetUser::new(&**ports)
        .execute(&claims, path_user(&id)?)
        .await?;
    Ok(no_store(HttpResponse::Ok().json(UserResponse::from(user))))
}

/// Change a user's role or disabled flag. Disabling ends every session of
/// the user; the last active admin cannot be demoted or disabled.
#[utoipa::path(
    patch, path = "/v1/admin/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "User id")),
    request_body = UpdateUserBody,
    responses(
        (status = 200, description = "The user as it now is", body = UserResponse),
        (status = 401, description = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = FORBIDDEN, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`NOT_FOUND`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`LAST_ADMIN`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`: `role` is not `user` or `admin`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_user<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Json<UpdateUserBody>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let role = errors.parse("role", body.role.as_deref(), |raw| {
        Role::parse(raw).ok_or_else(|| FieldIssue::invalid("role must be user or admin"))
    });
    errors.finish()?;
    let user = UpdateUser::new(&**ports)
        .execute(
            &claims,
            path_user(&id)?,
            role,
            body.disabled,
            &client_info(&request),
        )
        .await?;
    Ok(no_store(HttpResponse::Ok().json(UserResponse::from(user))))
}

/// A user's live sessions, most recently used first (`current` is always
/// false: none is the admin's).
#[utoipa::path(
    get, path = "/v1/admin/users/{id}/sessions", operation_id = "admin_user_sessions", tag = "admin",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "User id")),
    responses(
        (status = 200, body = SessionsResponse),
        (status = 401, description = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = FORBIDDEN, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`NOT_FOUND`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn user_sessions<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sessions = ListUserSessions::new(&**ports)
        .execute(&claims, path_user(&id)?)
        .await?;
    Ok(no_store(
        HttpResponse::Ok().json(SessionsResponse {
            items: sessions
                .into_iter()
                .map(|session| {
                    SessionResponse::from(ListedSession {
                        session,
                        current: false,
                    })
                })
                .collect(),
        }),
    ))
}

/// Mail a user a password-reset link, as the user's own request would
/// (within its hourly limit; none to a disabled account).
#[utoipa::path(
    post, path = "/v1/admin/users/{id}/password-reset", operation_id = "admin_send_password_reset",
    tag = "admin", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "User id")),
    responses(
        (status = 202, description = "A reset link is on its way"),
        (status = 401, description = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = FORBIDDEN, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`NOT_FOUND`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn send_password_reset<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    SendPasswordReset::new(&**ports)
        .execute(&claims, path_user(&id)?, &client_info(&request))
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

/// End every session of a user.
#[utoipa::path(
    delete, path = "/v1/admin/users/{id}/sessions", tag = "admin", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Every session of the user ended"),
        (status = 401, description = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = FORBIDDEN, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`NOT_FOUND`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke_sessions<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    RevokeUserSessions::new(&**ports)
        .execute(&claims, path_user(&id)?, &client_info(&request))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Remove a user's second factor (TOTP and backup codes), for a user who
/// lost them: every session of the user ends and a notice is mailed.
#[utoipa::path(
    delete, path = "/v1/admin/users/{id}/mfa", tag = "admin", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "The second factor is removed (or there was none), every session ended"),
        (status = 401, description = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = FORBIDDEN, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`NOT_FOUND`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn remove_mfa<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    RemoveUserMfa::new(&**ports)
        .execute(&claims, path_user(&id)?, &client_info(&request))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The audit trail, newest first, filtered by user and kind.
#[utoipa::path(
    get, path = "/v1/admin/audit-events", tag = "admin", security(("bearer" = [])),
    params(AuditQueryParams),
    responses(
        (status = 200, body = AuditPageResponse),
        (status = 400, description = "`BAD_REQUEST`: the query string repeats a parameter or cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = UNAUTHORIZED, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = FORBIDDEN, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`VALIDATION_FAILED`: `user_id`, `kind`, `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn audit_events<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
    query: web::Query<AuditQueryParams>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::default();
    let limit = limit(&mut errors, query.limit.as_deref());
    let user = errors.parse("user_id", query.user_id.as_deref(), user_id);
    let kind = errors.parse("kind", query.kind.as_deref(), |raw| {
        AuditKind::parse(raw).ok_or_else(|| FieldIssue::invalid("not an audit kind"))
    });
    let before = errors.parse("cursor", query.cursor.as_deref(), parse_audit_cursor);
    errors.finish()?;
    let page = ListAuditEvents::new(&**ports)
        .execute(&claims, user, kind, before, limit)
        .await?;
    Ok(no_store(
        HttpResponse::Ok().json(AuditPageResponse {
            items: page
                .items
                .into_iter()
                .map(AuditEventResponse::from)
                .collect(),
            next_cursor: page.next_before.map(audit_cursor),
        }),
    ))
}

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_users,
        get_user,
        update_user,
        user_sessions,
        revoke_sessions,
        send_password_reset,
        remove_mfa,
        audit_events
    ),
    components(schemas(UsersPage, UpdateUserBody, AuditEventResponse, AuditPageResponse))
)]
pub(crate) struct Api;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = UserId::new();
        assert_eq!(parse_user_cursor(&user_cursor(id)).unwrap(), id);
        let at = chrono::DateTime::from_timestamp_micros(1_900_000_000_123_456).unwrap();
        let event = uuid::Uuid::now_v7();
        assert_eq!(
            parse_audit_cursor(&audit_cursor((at, event))).unwrap(),
            (at, event)
        );
        for raw in ["", "!!", "AAAA", &user_cursor(id)] {
            assert!(parse_audit_cursor(raw).is_err(), "{raw:?}");
        }
        assert!(parse_user_cursor("AAAA").is_err());
    }
}
