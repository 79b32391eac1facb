//! The management API under `/gateway`.

mod api_keys;
mod audience;
mod audit;
mod gateway;
mod metrics;
mod ready;
mod registry;
mod users;

use axum::{
    Router,
    routing::{delete, get, post},
};

use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        // Accounts (with `--auth`): users, API keys, the audit log.
        .route("/auth/users", post(users::create).get(users::list))
        .route(
            "/auth/users/{name}",
            get(users::get).patch(users::update).delete(users::delete),
        )
        .route("/auth/api-keys", post(api_keys::create).get(api_keys::list))
        .route("/auth/api-keys/{id}", delete(api_keys::revoke))
        .route("/auth/audit", get(audit::list))
        .route("/gateway/health", get(gateway::health))
        .route("/gateway/ready", get(ready::ready))
        .route("/gateway/stats", get(gateway::stats))
        .route("/metrics", get(metrics::metrics))
        .route("/gateway/registry", get(registry::registry))
        .route("/gateway/register", post(registry::register))
        .route(
            "/gateway/deregister/{template}/{instance_id}",
            delete(registry::deregister),
        )
        .route("/gateway/templates", get(registry::templates))
        .route(
            "/gateway/templates/{template}/instances",
            post(registry::register_alias),
        )
        .route(
            "/gateway/templates/{template}/instances/{instance_id}",
            delete(registry::deregister_alias),
        )
        .route(
            "/gateway/templates/{template}/load-balancer",
            get(registry::get_load_balancer).put(registry::set_load_balancer),
        )
}

/// The router of the metrics listener (`--metrics-addr`): `GET /metrics` alone,
/// without authentication (the operator chose who can reach that address).
pub(crate) fn metrics_only(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::metrics))
        .with_state(state)
}

/// The OpenAPI paths and schemas of this module.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        gateway::health,
        ready::ready,
        gateway::stats,
        metrics::metrics,
        registry::register,
        registry::register_alias,
        registry::deregister,
        registry::deregister_alias,
        registry::registry,
        registry::templates,
        registry::get_load_balancer,
        registry::set_load_balancer
    ),
    components(schemas(
        gateway_core::api::RegisterInstance,
        gateway_core::api::LegacyRegisterInstance,
        gateway_core::api::CommandLine,
        gateway_core::api::InstanceInfo,
        gateway_core::api::LoadBalancerConfig,
        gateway_core::api::LoadBalancerUpdate,
        gateway_core::api::UpstreamTlsConfig,
        gateway_core::api::UpstreamAuthConfig,
        gateway_core::api::UpstreamLimitsConfig,
        gateway_core::api::ErrorBody
    ))
)]
pub(crate) struct AdminApi;

/// The OpenAPI paths and schemas of the account routes (`/auth/users`, `/auth/api-keys`,
/// `/auth/audit`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
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
        gateway_core::api::CreateUser,
        gateway_core::api::UpdateUser,
        gateway_core::api::UserInfo,
        gateway_core::api::CreateApiKey,
        gateway_core::api::CreateApiKeyBody,
        gateway_core::api::ApiKeyInfo,
        gateway_core::api::CreatedApiKey,
        gateway_core::api::AuditEntry,
        gateway_core::api::AuditPage
    ))
)]
pub(crate) struct AccountsApi;
