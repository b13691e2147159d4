//! The OpenAPI 3.1 document, generated from the handlers' annotations and
//! the DTO types, so it cannot drift from the code.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::metrics;
use crate::problem::{FieldError, Problem};
use crate::routes::{
    admin, api_keys, auth, email, health, introspection, jwks, mfa, password, sessions, users,
};

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
    components(schemas(Problem, FieldError)),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Sign-up, sign-in and the token lifecycle"),
        (name = "users", description = "The caller's own account"),
        (name = "sessions", description = "The caller's sessions (refresh-token families): list, end one, end all"),
        (name = "mfa", description = "Two-step sign-in with an authenticator app (TOTP) and backup codes"),
        (name = "api-keys", description = "Keys with which scripts and services act as the caller (managed from a session)"),
        (name = "admin", description = "Users and the audit trail, for admins (the role is checked in the store on every call)"),
        (name = "health", description = "Probes for orchestrators, and the public keys of token verification"),
    ),
)]
struct ApiDoc;

/// The document as served at `/openapi.json`.
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi();
    // Each area registers its own paths and bodies next to its routes.
    for area in [
        auth::Api::openapi(),
        password::Api::openapi(),
        email::Api::openapi(),
        introspection::Api::openapi(),
        users::Api::openapi(),
        sessions::Api::openapi(),
        admin::Api::openapi(),
        api_keys::Api::openapi(),
        mfa::Api::openapi(),
        health::Api::openapi(),
        jwks::Api::openapi(),
        metrics::Api::openapi(),
    ] {
        doc.merge(area);
    }
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
    document_body_refusals(&mut doc);
    link_token_responses(&mut doc);
    doc.to_json().unwrap_or_else(|_| "{}".to_owned())
}

/// OpenAPI links: what a client does next with a token pair (refresh it,
/// sign out, call `/v1/users/me`), and signing in with what registered.
/// Stateful clients and test tools follow them.
fn link_token_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::link::LinkBuilder;
    let with_pair = |operation_id: &str, description: &str| {
        LinkBuilder::new()
            .operation_id(operation_id)
            .description(description)
            .request_body(Some(serde_json::json!({
                "refresh_token": "$response.body#/refresh_token"
            })))
            .build()
    };
    let links = |signing_in: bool| {
        let mut links = vec![
            (
                "Refresh",
                with_pair("refresh", "Rotate the refresh token of this pair"),
            ),
            (
                "Logout",
                with_pair("logout", "End the session of this pair"),
            ),
            (
                "Me",
                LinkBuilder::new()
                    .operation_id("me")
                    .description("The signed-in user, with the access token of this pair")
                    .parameter(
                        "header.Authorization",
                        "Bearer {$response.body#/access_token}",
                    )
                    .build(),
            ),
        ];
        if signing_in {
            links.push((
                "Login",
                LinkBuilder::new()
                    .operation_id("login")
                    .description("Sign in again with the registered credentials")
                    .request_body(Some(serde_json::json!({
                        "email": "$request.body#/email",
                        "password": "$request.body#/password"
                    })))
                    .build(),
            ));
        }
        links
    };
    for (path, status, signing_in) in [
        ("/v1/auth/register", "201", true),
        ("/v1/auth/login", "200", false),
        ("/v1/auth/refresh", "200", false),
    ] {
        let Some(RefOr::T(response)) = doc
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.responses.responses.get_mut(status))
        else {
            continue;
        };
        for (name, link) in links(signing_in) {
            response.links.insert(name.to_owned(), RefOr::T(link));
        }
    }
}

/// Every operation that reads a JSON body can refuse it before any
/// handler runs: not JSON or not an object (400), too big (413), another
/// content type (415). Said once here rather than on each handler.
fn document_body_refusals(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let problem = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        )
    };
    let refusals = [
        (
            "400",
            "`MALFORMED_REQUEST`: the body is not JSON, or not an object",
        ),
        ("413", "`PAYLOAD_TOO_LARGE`: the body is over 64 KiB"),
        (
            "415",
            "`UNSUPPORTED_MEDIA_TYPE`: the body is not `application/json`",
        ),
    ];
    for item in doc.paths.paths.values_mut() {
        for operation in [
            item.post.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if operation.request_body.is_none() {
                continue;
            }
            for (status, description) in refusals {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem(description));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// The whole document, reviewed as a file: a route, body or code that
    /// changes the published contract shows in the diff.
    #[test]
    fn the_document() {
        let mut doc: serde_json::Value =
            serde_json::from_str(&super::openapi_json()).unwrap_or_default();
        // The crate's version moves with every release, not with the contract.
        doc["info"]["version"] = "[version]".into();
        insta::assert_json_snapshot!(doc);
    }

    /// OpenAPI requires each operation's id to be unique: clients name
    /// their methods after them.
    #[test]
    fn operation_ids_are_unique() {
        let doc: serde_json::Value =
            serde_json::from_str(&super::openapi_json()).unwrap_or_default();
        let mut seen = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                if let Some(id) = operation["operationId"].as_str() {
                    assert!(seen.insert(id.to_owned()), "{method} {path}: {id} twice");
                }
            }
        }
        assert!(seen.len() > 20, "{seen:?}");
    }
}
