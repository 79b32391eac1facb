//! The MCP gateway's HTTP server: native MCP endpoints (`/mcp`, `/mcp/{template}`, both
//! protocol eras), the guide's REST facade over MCP (`/mcp/{template}/...`), the
//! management API (`/gateway/...`), OpenAPI docs served
//! offline (`/openapi.json`, `/docs`, `/redoc`), backed by a persistent registry.
//!
//! ```no_run
//! use gateway_server::{Overrides, Server, Settings, shutdown_signal};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = Settings::load(Overrides { port: Some(0), database_url: Some("sqlite::memory:".into()), ..Default::default() })?;
//! let server = Server::bind(settings).await?;
//! println!("listening on http://{}", server.local_addr());
//! server.serve(shutdown_signal()).await?;
//! # Ok(()) }
//! ```
//!
//! Request path: `router` → `mcp` / `rest` handlers → `relay::Relay` (candidates from the
//! template's balancer, retries only when safe, or a dedicated session's own upstream) →
//! `gateway_transport::Upstream`; `admin` → `registry`.
//!
#![doc = include_str!("docs/lifecycle.md")]

mod admin;
mod auth;
mod browser;
mod config;
mod database;
mod drain;
mod error;
mod fleet;
mod listen;
mod mcp;
mod media;
mod metrics;
mod offline;
mod openapi;
/// OpenTelemetry trace export over OTLP (feature `otel`).
#[cfg(feature = "otel")]
pub mod otel;
mod registry;
mod relay;
mod request_id;
mod request_log;
mod rest;
mod router;
mod server;
mod state;
#[cfg(test)]
mod test_util;
mod trace;
mod trace_context;

pub use config::{
    AuthSettings, BrowserSettings, ConfigError, FleetSettings, ListenSettings, LogFormat,
    McpSettings, OAuthSettings, Overrides, SeedTemplate, Settings,
};
pub use database::{DatabaseStatus, MigrationStatusRow, database_status, migrate_database};
pub use offline::{OfflineError, create_user, register as register_offline};
pub use server::{Error, Server, shutdown_signal};

/// The OpenAPI document as JSON (for tooling and tests), as a gateway with
/// authentication serves it.
pub fn openapi_json() -> String {
    serde_json::to_string_pretty(&openapi::document(true)).unwrap_or_default()
}
