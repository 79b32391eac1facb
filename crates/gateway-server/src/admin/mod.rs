//! The management API under `/gateway`.

pub(crate) mod api_keys;
mod audience;
pub(crate) mod audit;
mod gateway;
mod ready;
mod registry;
pub(crate) mod users;

use axum::{
    Router,
    routing::{delete, get, post},
};

use crate::state::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/gateway/health", get(gateway::health))
        .route("/gateway/ready", get(ready::ready))
        .route("/gateway/stats", get(gateway::stats))
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

/// The OpenAPI paths and schemas of this module.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        gateway::health,
        ready::ready,
        gateway::stats,
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
        gateway_core::api::CommandLine,
        gateway_core::api::InstanceInfo,
        gateway_core::api::LoadBalancerConfig,
        gateway_core::api::LoadBalancerUpdate,
        gateway_core::api::UpstreamTlsConfig,
        gateway_core::api::ErrorBody
    ))
)]
pub(crate) struct AdminApi;
