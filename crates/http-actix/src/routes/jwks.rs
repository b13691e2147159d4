//! The public keys other services verify access tokens with (RFC 7517).

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

/// How long verifiers may keep the key set. A rotation keeps the retired
/// key published for longer than this (see the operator guide).
pub const JWKS_MAX_AGE_SECS: u32 = 300;

/// The JWKS document, serialised once at start: the keys never change
/// while the process runs.
#[derive(Debug, Clone)]
pub struct Jwks(Arc<str>);

impl Jwks {
    /// `json` is a JWK set, `{"keys": [...]}`.
    #[must_use]
    pub fn new(json: String) -> Self {
        Self(json.into())
    }
}

impl Default for Jwks {
    /// HS256: nothing to publish.
    fn default() -> Self {
        Self(Arc::from(r#"{"keys":[]}"#))
    }
}

/// One Ed25519 public key.
#[derive(Debug, Serialize, ToSchema)]
pub struct JwkResponse {
    #[schema(example = "OKP")]
    pub kty: String,
    #[schema(example = "Ed25519")]
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// The RFC 7638 thumbprint; access tokens name their key with it.
    pub kid: String,
    #[schema(example = "EdDSA")]
    pub alg: String,
    #[schema(rename = "use", example = "sig")]
    pub use_: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JwksResponse {
    /// Empty with HS256, whose secret is never published.
    pub keys: Vec<JwkResponse>,
}

/// The keys access tokens are signed with: the current one, then those
/// still accepted during a rotation.
#[utoipa::path(
    get, path = "/.well-known/jwks.json", tag = "health",
    responses((status = 200, body = JwksResponse, headers(("Cache-Control" = String, description = "public, max-age=300"))))
)]
pub async fn jwks(jwks: web::Data<Jwks>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={JWKS_MAX_AGE_SECS}"),
        ))
        .body(jwks.0.to_string())
}

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(web::resource("/.well-known/jwks.json").route(web::get().to(jwks)));
}

/// This area's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(jwks), components(schemas(JwkResponse, JwksResponse)))]
pub(crate) struct Api;
