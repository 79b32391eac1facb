//! The guide's REST facade over MCP: `/mcp/{template}/...`. Handlers take the
//! [`Relay`] sub-state and call it, never the transports directly.

mod body;
mod calls;
mod health;
mod lists;

use axum::{
    Router,
    extract::FromRef,
    routing::{get, post},
};
pub(crate) use body::JsonBody;
pub(crate) use health::system_ms;

use crate::relay::Relay;

pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Relay: FromRef<S>,
{
    Router::new()
        .route("/mcp/{template}/tools/list", get(lists::tools))
        .route("/mcp/{template}/tools/call", post(calls::call_tool))
        .route("/mcp/{template}/resources/list", get(lists::resources))
        .route(
            "/mcp/{template}/resources/templates/list",
            get(lists::resource_templates),
        )
        .route("/mcp/{template}/resources/read", post(calls::read_resource))
        .route("/mcp/{template}/prompts/list", get(lists::prompts))
        .route("/mcp/{template}/prompts/get", post(calls::get_prompt))
        .route("/mcp/{template}/health", get(health::template_health))
}

/// The OpenAPI paths and schemas of this module.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        lists::tools,
        lists::resources,
        lists::resource_templates,
        lists::prompts,
        calls::call_tool,
        calls::read_resource,
        calls::get_prompt,
        health::template_health
    ),
    components(schemas(
        calls::NamedCall,
        calls::ReadResource,
        health::TemplateHealth,
        health::InstanceHealth
    ))
)]
pub(crate) struct RestApi;
