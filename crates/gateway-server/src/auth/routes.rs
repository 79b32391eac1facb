//! The `/auth/login` and `/auth/me` routes and the OpenAPI document of authentication
//! (the account routes under `/auth/*`, users, API keys and the audit log, are the
//! management API's: `crate::admin`).

use std::sync::Arc;

use axum::{
    Router,
    extract::FromRef,
    routing::{get, post},
};

use super::{Access, discovery, login};

pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Access>: FromRef<S>,
{
    Router::new()
        .route("/auth/login", post(login::login))
        .route("/auth/me", get(login::me))
        .merge(discovery::routes())
}

/// Bearer JWTs and API keys, as OpenAPI security schemes.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A token from POST /auth/login (an API key works too)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key, `mcpgw_<id>_<secret>`",
            ))),
        );
    }
}

/// The OpenAPI paths and schemas of `/auth/login` and `/auth/me`, and the security
/// schemes.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(login::login, login::me),
    components(schemas(
        gateway_core::api::LoginRequest,
        gateway_core::api::TokenResponse,
        gateway_core::api::Me
    )),
    modifiers(&SecuritySchemes)
)]
pub(crate) struct AuthApi;
