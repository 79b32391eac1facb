//! The `/auth/*` routes and their OpenAPI document.

use axum::{
    Router,
    routing::{get, post},
};

use super::{discovery, login};
use crate::{
    admin::{api_keys, audit, users},
    state::AppState,
};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login::login))
        .route("/auth/me", get(login::me))
        .route("/auth/users", post(users::create).get(users::list))
        .route(
            "/auth/users/{name}",
            get(users::get).patch(users::update).delete(users::delete),
        )
        .route("/auth/api-keys", post(api_keys::create).get(api_keys::list))
        .route(
            "/auth/api-keys/{id}",
            axum::routing::delete(api_keys::revoke),
        )
        .route("/auth/audit", get(audit::list))
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

/// The OpenAPI paths and schemas of `/auth/*`.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        login::login,
        login::me,
        users::create,
        users::list,
        users::get,
        users::update,
        users::delete,
        api_keys::create,
        api_keys::list,
        api_keys::revoke,
        audit::list
    ),
    components(schemas(
        gateway_core::api::LoginRequest,
        gateway_core::api::TokenResponse,
        gateway_core::api::CreateUser,
        gateway_core::api::UpdateUser,
        gateway_core::api::UserInfo,
        gateway_core::api::CreateApiKey,
        gateway_core::api::ApiKeyInfo,
        gateway_core::api::CreatedApiKey,
        gateway_core::api::Me,
        gateway_core::api::AuditEntry,
        gateway_core::api::AuditPage
    )),
    modifiers(&SecuritySchemes)
)]
pub(crate) struct AuthApi;
