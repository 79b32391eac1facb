//! The gateway's REST API, one file per server area. Each file adds methods to
//! [`GatewayClient`](crate::GatewayClient):
//!
//! | file | endpoints |
//! |---|---|
//! | `registry.rs` | `/gateway/health`, `/gateway/stats`, `/gateway/registry`, `/gateway/templates`, `/gateway/register`, `/gateway/deregister/…`, `/gateway/templates/{t}/load-balancer` |
//! | `tools.rs` | `/mcp/{t}/tools/list`, `/mcp/{t}/tools/call` |
//! | `resources.rs` | `/mcp/{t}/resources/list`, `/mcp/{t}/resources/read`, `/mcp/{t}/resources/templates/list` |
//! | `prompts.rs` | `/mcp/{t}/prompts/list`, `/mcp/{t}/prompts/get` |
//! | `health.rs` | `/mcp/{t}/health` |
//! | `auth.rs` | `/auth/login`, `/auth/me`, `/auth/users…`, `/auth/api-keys…`, `/auth/audit` |

mod auth;
mod health;
mod prompts;
mod registry;
mod resources;
mod tools;

pub use auth::AuditQuery;

#[cfg(test)]
mod tests;

/// The body of a single-object `POST` whose only field is an MCP name plus arguments
/// (`tools/call`, `prompts/get`).
#[derive(Debug, serde::Serialize)]
struct NamedCall<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    arguments: &'a serde_json::Value,
}
