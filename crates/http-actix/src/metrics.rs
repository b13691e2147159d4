//! What `/metrics` exports that the HTTP layer sees: requests by route
//! pattern and status, and the outcomes of sign-ins and refreshes. The
//! registry is explicit (never a process-global one), so each app counts
//! on its own, and the composition root adds what it alone can see (the
//! hasher, the pools, the mail sender).

use std::time::Duration;

use crate::problem::ApiError;
use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Seconds; from a cached `/me` to a slow Argon2 queue.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    logins: IntCounterVec,
    refreshes: IntCounterVec,
    reuse_detected: IntCounter,
}

/// How a sign-in ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Success,
    InvalidCredentials,
    AccountDisabled,
    EmailNotVerified,
    MfaRequired,
    MfaInvalid,
    Locked,
    Overloaded,
    Error,
}

impl LoginOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::InvalidCredentials => "invalid_credentials",
            Self::AccountDisabled => "account_disabled",
            Self::EmailNotVerified => "email_not_verified",
            Self::MfaRequired => "mfa_required",
            Self::MfaInvalid => "mfa_invalid",
            Self::Locked => "locked",
            Self::Overloaded => "overloaded",
            Self::Error => "error",
        }
    }
}

/// How a refresh ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    Success,
    Invalid,
    ReuseDetected,
    Error,
}

impl RefreshOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Invalid => "invalid",
            Self::ReuseDetected => "reuse_detected",
            Self::Error => "error",
        }
    }
}

impl Metrics {
    /// The HTTP families, in a new registry.
    ///
    /// # Errors
    /// Only if a family were registered twice, which this never does.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("gatehouse_http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "gatehouse_http_request_duration_seconds",
                "Time from request to response",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route", "status"],
        )?;
        let logins = IntCounterVec::new(
            Opts::new("gatehouse_logins_total", "Sign-ins by outcome"),
            &["outcome"],
        )?;
        let refreshes = IntCounterVec::new(
            Opts::new(
                "gatehouse_refreshes_total",
                "Refresh-token rotations by outcome",
            ),
            &["outcome"],
        )?;
        let reuse_detected = IntCounter::new(
            "gatehouse_refresh_reuse_detected_total",
            "Rotated refresh tokens presented again after the grace (the session was revoked)",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(logins.clone()))?;
        registry.register(Box::new(refreshes.clone()))?;
        registry.register(Box::new(reuse_detected.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            logins,
            refreshes,
            reuse_detected,
        })
    }

    /// Where the composition root registers what it samples itself.
    #[must_use]
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// `route` is the matched pattern (bounded by the routes we serve),
    /// and unknown methods are folded into one label, so a scanner cannot
    /// grow the label set.
    pub(crate) fn observe_request(
        &self,
        method: &Method,
        route: &str,
        status: u16,
        elapsed: Duration,
    ) {
        let method = match *method {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
            Method::OPTIONS => "OPTIONS",
            Method::HEAD => "HEAD",
            _ => "other",
        };
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
    }

    pub(crate) fn login(&self, outcome: LoginOutcome) {
        self.logins.with_label_values(&[outcome.label()]).inc();
    }

    pub(crate) fn refresh(&self, outcome: RefreshOutcome) {
        self.refreshes.with_label_values(&[outcome.label()]).inc();
        if outcome == RefreshOutcome::ReuseDetected {
            self.reuse_detected.inc();
        }
    }

    fn render(&self) -> Result<String, prometheus::Error> {
        TextEncoder::new().encode_to_string(&self.registry.gather())
    }
}

/// Prometheus text format.
#[utoipa::path(
    get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain; version=0.0.4", body = String))
)]
pub async fn metrics(metrics: web::Data<Metrics>) -> Result<HttpResponse, ApiError> {
    let text = metrics
        .render()
        .map_err(|e| ApiError::internal(&anyhow::anyhow!("rendering metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(web::resource("/metrics").route(web::get().to(metrics)));
}

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(metrics))]
pub(crate) struct Api;
