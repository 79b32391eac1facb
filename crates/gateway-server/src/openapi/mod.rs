//! The OpenAPI document (`/openapi.json`), Swagger UI (`/docs`, vendored) and ReDoc
//! (`/redoc`, its script served from this binary): API docs with no network access.

use axum::{
    Router,
    http::header,
    response::{Html, IntoResponse, Redirect},
    routing::get,
};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

mod responses;

use crate::{
    admin::{AccountsApi, AdminApi},
    auth::AuthApi,
    rest::RestApi,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mcp-gateway",
        description = "One secure, load-balanced front door for MCP servers: the REST facade over MCP and the management API."
    ),
    tags(
        (name = "mcp", description = "The REST facade over each template's MCP servers"),
        (name = "registry", description = "Registering instances and template settings"),
        (name = "gateway", description = "Gateway health and statistics"),
        (name = "auth", description = "Login, users, API keys and the audit log (with `--auth`)")
    )
)]
struct ApiDoc;

impl ApiDoc {
    /// Every handler's own documentation, merged.
    fn openapi_full() -> utoipa::openapi::OpenApi {
        let mut doc = ApiDoc::openapi();
        doc.merge(RestApi::openapi());
        doc.merge(AdminApi::openapi());
        doc.merge(AuthApi::openapi());
        doc.merge(AccountsApi::openapi());
        doc
    }
}

/// The full document, as served at `/openapi.json` by a gateway with (`auth_on`) or
/// without authentication: with it, every non-public operation declares `security`.
pub(crate) fn document(auth_on: bool) -> serde_json::Value {
    let mut doc = ApiDoc::openapi_full();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    // utoipa's types cannot hold every JSON Schema form the shared answers use, so
    // they are added to the JSON. Serialising derived types cannot fail.
    let mut json = serde_json::to_value(&doc).unwrap_or_default();
    responses::complete(&mut json, auth_on);
    json
}

const REDOC_JS: &[u8] = include_bytes!("../../assets/redoc.standalone.js");
const REDOC_HTML: &str = r#"<!DOCTYPE html>
<html><head><title>mcp-gateway API (ReDoc)</title><meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="/openapi.json"></redoc><script src="/redoc/redoc.standalone.js"></script></body></html>"#;

pub(crate) fn routes<S: Clone + Send + Sync + 'static>(auth_on: bool) -> Router<S> {
    Router::new()
        // A browser pointed at the gateway lands on its API docs.
        .route("/", get(|| async { Redirect::temporary("/docs/") }))
        .merge(SwaggerUi::new("/docs").external_url_unchecked("/openapi.json", document(auth_on)))
        .route("/redoc", get(|| async { Html(REDOC_HTML) }))
        .route(
            "/redoc/redoc.standalone.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "application/javascript"),
                        (header::CACHE_CONTROL, "public, max-age=86400"),
                    ],
                    REDOC_JS,
                )
                    .into_response()
            }),
        )
}
