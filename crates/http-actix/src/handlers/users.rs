//! `/v1/users/me`: the caller's own account.

use actix_web::{HttpResponse, web};
use gatehouse_application::Ports;
use gatehouse_application::use_cases::GetCurrentUser;

use crate::bearer::Bearer;
use crate::dto::UserResponse;
use crate::problem::{ApiError, Problem};

/// The authenticated caller's account, read fresh from the store.
#[utoipa::path(
    get, path = "/v1/users/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = UserResponse),
        (status = 401, description = "`AUTH_TOKEN_MISSING`, `AUTH_TOKEN_INVALID`, `AUTH_TOKEN_EXPIRED` or `AUTH_TOKEN_REVOKED` (the token's session has ended)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`ACCOUNT_DISABLED`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me<P: Ports>(
    ports: web::Data<P>,
    Bearer(claims): Bearer,
) -> Result<HttpResponse, ApiError> {
    let user = GetCurrentUser::new(&**ports).execute(&claims).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}
