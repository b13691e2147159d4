//! Liveness (the process answers) and readiness (the database answers).

use actix_web::{HttpResponse, web};
use gatehouse_application::Ports;
use gatehouse_application::ports::Readiness;

use crate::problem::{ApiError, Problem};

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up. Touches nothing else, so it stays fast under load.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, body = HealthResponse)))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(HealthResponse { status: "ok" })
}

/// The database answers.
#[utoipa::path(
    get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, body = HealthResponse),
        (status = 503, description = "`SERVICE_UNAVAILABLE`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn ready<P: Ports>(ports: web::Data<P>) -> Result<HttpResponse, ApiError> {
    ports.store().ready().await.map_err(|e| {
        let cause = match e {
            gatehouse_application::PortError::Unavailable(e)
            | gatehouse_application::PortError::Conflict(e)
            | gatehouse_application::PortError::Unexpected(e) => e,
        };
        // The reason, in words that hold no address or credential.
        let reason = if format!("{cause:#}").contains("timed out") {
            "The database did not answer in time."
        } else {
            "The database cannot be reached."
        };
        ApiError::unavailable(&cause).with_detail(reason)
    })?;
    Ok(HttpResponse::Ok().json(HealthResponse { status: "ok" }))
}

pub fn configure<P: Ports>(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/health/live").route(web::get().to(live)))
        .service(web::resource("/health/ready").route(web::get().to(ready::<P>)));
}

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(live, ready), components(schemas(HealthResponse)))]
pub(crate) struct Api;
