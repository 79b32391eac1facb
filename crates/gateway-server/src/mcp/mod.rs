//! The native MCP endpoints: `/mcp/{template}` (one template, names unchanged) and `/mcp`
//! (every template the caller may use, names prefixed), over Streamable HTTP for both
//! protocol eras. See `README.md` in this folder for the protocol decisions.
//!
//! The path of a request, file by file: [`endpoint`] (HTTP checks, era, session, JSON or
//! SSE) -> [`session`] (sealed ids) -> [`dispatch`] (what the gateway answers itself, what
//! goes to which template) -> `crate::relay` (instance choice, health, retries) ->
//! [`fanout`] (aggregated lists) with [`names`] (prefixes) -> [`stream`] (SSE). Beside
//! it: [`notify`] (a shared session's GET stream), [`dedicated`] (a session's own
//! upstream), [`legacy_sse`] (the 2024-11-05 transport), [`refusal`] (error replies).
//!
//! What a client can make the gateway hold is bounded (settings in `config/mcp.rs`):
//! live and closed sessions ([`session`], [`closed`]), dedicated upstreams per template
//! and per principal, HTTP+SSE connections per replica and per principal ([`quota`]), and
//! what each HTTP+SSE connection or dedicated session buffers for a client that does not
//! read ([`backlog`], [`dedicated`]).

mod backlog;
mod closed;
mod dedicated;
mod describe;
mod dispatch;
mod endpoint;
mod era;
mod fanout;
mod legacy_sse;
mod names;
mod notify;
mod quota;
mod refusal;
mod session;
mod stream;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    routing::{get, post},
};
pub(crate) use session::Sessions;

use crate::{config::McpLimits, state::AppState};

/// What the MCP endpoints share.
pub(crate) struct McpState {
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) separator: Arc<str>,
    pub(crate) keepalive: Duration,
    /// Dedicated upstream sessions per template, against `max_sessions`.
    pub(crate) dedicated_counts: dedicated::SessionCounts,
    /// Open 2024-11-05 HTTP+SSE connections.
    pub(crate) legacy_sse: legacy_sse::Connections,
    /// Caps on sessions, connections and queues.
    pub(crate) limits: McpLimits,
}

/// `/mcp` and `/mcp/{template}`: POST, GET, DELETE; the 2024-11-05 HTTP+SSE pair
/// `/mcp/{template}/sse` and `/mcp/{template}/messages`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/mcp",
            post(endpoint::post_aggregate)
                .get(endpoint::get_aggregate)
                .delete(endpoint::delete_aggregate),
        )
        .route(
            "/mcp/{template}",
            post(endpoint::post_template)
                .get(endpoint::get_template)
                .delete(endpoint::delete_template),
        )
        .route("/mcp/{template}/sse", get(legacy_sse::open))
        .route("/mcp/{template}/messages", post(legacy_sse::message))
}
