//! One structured line and one metrics observation per request: id,
//! method, route pattern (never the raw path or query, which may carry ids
//! or tokens), status, latency.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use tracing::Instrument;

use crate::metrics::Metrics;

/// The ids of the request being served, for what it records (audit): the
/// server's own, and the client's `X-Request-Id` when it sent a plain one.
#[derive(Debug, Clone)]
pub struct RequestId {
    pub own: String,
    pub client: Option<String>,
}

/// A client's `X-Request-Id` is kept if it is short and plain, so that it
/// cannot forge log structure; otherwise we make one.
fn well_formed(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub async fn log_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let own = uuid::Uuid::now_v7().to_string();
    let theirs = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| well_formed(id))
        .map(str::to_owned);
    // Logged and echoed: the client's id when it sent one, so it finds its
    // request; the server's own is logged beside it for the audit trail.
    let request_id = theirs.clone().unwrap_or_else(|| own.clone());
    request.extensions_mut().insert(RequestId {
        own: own.clone(),
        client: theirs.clone(),
    });
    let method = request.method().clone();
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    // Every line logged while serving the request (use cases, the hasher's
    // blocking work) is inside this span, so it carries the request's id.
    let span =
        tracing::info_span!("request", %request_id, server_request_id = tracing::field::Empty);
    if theirs.is_some() {
        span.record("server_request_id", tracing::field::display(&own));
    }
    let mut response = next.call(request).instrument(span.clone()).await?;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(metrics) = response.request().app_data::<web::Data<Metrics>>() {
        metrics.observe_request(&method, &route, status, elapsed);
    }
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(%method, %route, status, latency_ms, "request"));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}
