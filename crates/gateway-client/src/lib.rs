//! A Rust client for the MCP gateway's REST API: register and remove upstream MCP server
//! instances, read the registry and health, and call tools, resources and prompts of a
//! template through the gateway's load balancer.
//!
//! ```no_run
//! use gateway_client::{GatewayClient, RegisterInstance};
//! use serde_json::json;
//!
//! # async fn quickstart() -> Result<(), gateway_client::Error> {
//! // The SDK uses rustls without choosing a crypto provider: install one once per process.
//! let _ = rustls::crypto::ring::default_provider().install_default();
//!
//! let client = GatewayClient::builder("http://127.0.0.1:8080")
//!     .bearer_token("eyJ...") // or .api_key("...")
//!     .build()?;
//!
//! let instance = client
//!     .register(&RegisterInstance {
//!         template_name: Some("demo".into()),
//!         endpoint: Some("http://127.0.0.1:7071/mcp".into()),
//!         ..Default::default()
//!     })
//!     .await?;
//! println!("registered {}", instance.id);
//!
//! let tools = client.list_tools("demo").await?;
//! let result = client.call_tool("demo", "echo", json!({"message": "hi"})).await?;
//! println!("{} tools; echo said {result}", tools.len());
//!
//! match client.deregister("demo", "no-such-instance").await {
//!     Err(e) if e.is_not_found() => println!("already gone: {e}"),
//!     other => { other?; }
//! }
//! # Ok(()) }
//! ```
//!
//! Main types: [`GatewayClient`] (built by [`GatewayClientBuilder`]) and [`Error`]. The
//! request and response DTOs are the ones the server uses, re-exported from
//! `gateway_core::api`; free-form bodies (statistics, the registry, MCP results) are
//! [`serde_json::Value`]. [`oauth`] logs in through the gateway's identity provider
//! (OAuth 2.1 authorization code + PKCE, device authorization, refresh).

mod api;
mod client;
mod error;
pub mod oauth;

pub use api::AuditQuery;
pub use client::{GatewayClient, GatewayClientBuilder};
pub use error::{Error, Result};
pub use gateway_core::Strategy;
pub use gateway_core::api::{
    ApiKeyInfo, AuditEntry, AuditPage, CommandLine, CreateApiKey, CreateUser, CreatedApiKey,
    ErrorBody, InstanceInfo, LoadBalancerConfig, LoadBalancerUpdate, Me, RegisterInstance,
    TokenResponse, UpdateUser, UserInfo,
};

#[cfg(test)]
mod test_server;
