//! Assembling the actix `App`: routes, body limits, the problem+json
//! fallback for whatever the framework rejects itself, request logging.

use std::sync::Arc;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{
    Condition, DefaultHeaders, ErrorHandlerResponse, ErrorHandlers, from_fn,
};
use actix_web::{App, HttpResponse, ResponseError, web};
use gatehouse_application::Ports;
use gatehouse_application::use_cases::Authenticate;

use crate::bearer::Verifier;
use crate::body::{MAX_BODY_BYTES, json_config};
use crate::client::TrustedProxies;
use crate::metrics::{self, Metrics};
use crate::problem::{ApiError, PROBLEM_JSON};
use crate::rate_limit::{AuthRateLimit, limit_auth_requests};
use crate::request_log::log_request;
use crate::routes::{
    admin, api_keys, auth, email, health, introspection, jwks, mfa, password, sessions, users,
};

async fn not_found() -> HttpResponse {
    ApiError::not_found().error_response()
}

/// Framework-made error responses (404, 405, 413, ...) carry no problem
/// body; give them one, keeping ours untouched.
fn problem_fallback<B>(response: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    // What the framework said in headers stays said: above all `Allow`
    // on a 405, which RFC 9110 requires.
    let allow = response.headers().get(header::ALLOW).cloned();
    let (request, _) = response.into_parts();
    let mut replacement = ApiError::from_status(status).error_response();
    if let Some(allow) = allow {
        replacement.headers_mut().insert(header::ALLOW, allow);
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, replacement).map_into_right_body(),
    ))
}

/// What the HTTP layer takes from the operator's configuration.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub trusted_proxies: TrustedProxies,
    /// Shared by every worker; `None` when the limit is off.
    pub auth_rate_limit: Option<AuthRateLimit>,
    /// Exact origins browsers may call from; empty: same origin only.
    pub cors_origins: Vec<String>,
    /// The published token keys (empty with HS256).
    pub jwks: jwks::Jwks,
    /// Shared by every worker, so `/metrics` adds up the whole process.
    pub metrics: Metrics,
}

/// Exact origins, no credentials (tokens travel in headers the client
/// sets, never in cookies), preflights cached for an hour.
fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("x-api-key"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
            header::HeaderName::from_static("x-request-id"),
        ])
        .max_age(3_600)
}

/// The whole HTTP application over `ports`.
pub fn build_app<P: Ports>(
    ports: web::Data<P>,
    openapi: Arc<String>,
    settings: HttpSettings,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let verifier: Verifier = {
        let ports = ports.clone();
        Arc::new(move |token: &str| Authenticate::new(&**ports).execute(token))
    };
    let cors_enabled = !settings.cors_origins.is_empty();
    let cors = cors(&settings.cors_origins);
    let mut app = App::new()
        .app_data(web::Data::new(settings.trusted_proxies))
        .app_data(web::Data::new(settings.jwks))
        .app_data(web::Data::new(settings.metrics));
    if let Some(limit) = settings.auth_rate_limit {
        app = app.app_data(web::Data::new(limit));
    }
    app.app_data(ports)
        .app_data(web::Data::new(verifier))
        .app_data(json_config())
        .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .configure(auth::configure::<P>)
        .configure(users::configure::<P>)
        .configure(sessions::configure::<P>)
        .configure(password::configure::<P>)
        .configure(email::configure::<P>)
        .configure(introspection::configure::<P>)
        .configure(admin::configure::<P>)
        .configure(api_keys::configure::<P>)
        .configure(mfa::configure::<P>)
        .configure(jwks::configure)
        .configure(metrics::configure)
        .configure(health::configure::<P>)
        .service(web::resource("/openapi.json").route(web::get().to(move || {
            let body = Arc::clone(&openapi);
            async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(body.as_str().to_owned())
            }
        })))
        .default_service(web::to(not_found))
        .wrap(from_fn(limit_auth_requests))
        .wrap(ErrorHandlers::new().default_handler(problem_fallback))
        // Every answer, errors included: no browser second-guesses our types.
        .wrap(DefaultHeaders::new().add((header::X_CONTENT_TYPE_OPTIONS, "nosniff")))
        .wrap(Condition::new(cors_enabled, cors))
        .wrap(from_fn(log_request))
}
