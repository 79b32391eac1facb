//! Core types of the MCP gateway: the domain vocabulary every other crate shares, and a
//! thin JSON-RPC 2.0 layer that keeps payloads as raw JSON. No I/O, no async runtime.
//!
//! Another Rust service can embed this crate to validate gateway names and specs or to
//! proxy MCP messages without re-encoding what it does not understand:
//!
//! ```
//! use gateway_core::jsonrpc::{Message, RequestId};
//! use gateway_core::mcp::{Method, ParamsView};
//!
//! let bytes = br#"{"jsonrpc":"2.0","id":"c-1","method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"},"x-vendor":{"kept":true}}}"#;
//! let Message::Request(mut request) = Message::parse(bytes)? else { unreachable!() };
//!
//! // Route on the method and the tool name...
//! assert_eq!(Method::parse(&request.method), Method::ToolsCall);
//! assert_eq!(ParamsView::parse(request.params.as_deref())?.name.as_deref(), Some("echo"));
//!
//! // ...rewrite the id for the upstream, and re-encode: params are forwarded verbatim.
//! let client_id = std::mem::replace(&mut request.id, RequestId::Number(1));
//! let upstream = Message::from(request).to_vec();
//! assert!(upstream.ends_with(br#""params":{"name":"echo","arguments":{"message":"hi"},"x-vendor":{"kept":true}}}"#));
//! assert_eq!(client_id, RequestId::from("c-1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules: [`api`] (REST wire shapes), [`jsonrpc`] (envelope, ids, error codes), [`mcp`] (methods, versions, routed
//! fields), [`model`] (templates, instances, weights, health, strategies), [`error`].

pub mod api;
pub mod error;
pub mod jsonrpc;
pub mod mcp;
pub mod model;

pub use error::ValidationError;
pub use model::{
    EndpointUrl, Headers, HealthProbe, HealthScore, HealthStatus, Instance, InstanceId,
    InstanceSpec, LoadBalancerSettings, Role, Scope, Scopes, SessionMode, StdioCommand, Strategy,
    TemplateAccess, TemplateName, Transport, UpstreamAuth, UpstreamAuthMode, UpstreamLimits,
    UpstreamTls, Username, Weight,
};

/// Appends `s` as a JSON string literal (shared by the jsonrpc and mcp modules).
fn jsonrpc_write_str(out: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}
