//! The native MCP endpoints: `/mcp/{template}` (one template, names unchanged) and `/mcp`
//! (every template the caller may use, names prefixed), over Streamable HTTP for both
//! protocol eras. See `README.md` in this folder for the protocol decisions.
//!
//! The path of a request, file by file: [`endpoint`] (acceptance checks, the endpoint
//! and session extractor, POST / GET / DELETE by phase) -> [`session`] (sealed ids) ->
//! [`dispatch`] (what the gateway answers itself, what goes to which template) ->
//! `crate::relay` (instance choice, health, retries; dedicated sessions too) ->
//! [`fanout`] (aggregated lists) with [`names`] (prefixes) -> [`reply`] (every JSON-RPC
//! error, chosen once) -> [`stream`] (SSE). Beside it: [`notify`] (a shared session's
//! GET stream), [`dedicated`] and [`outbox`] (a session's own upstream and what it sends
//! the client), [`legacy_sse`] (the 2024-11-05 transport), [`era`] (what each protocol
//! era requires), [`describe`] (initialize and discover results). In front of the
//! handlers: [`forward`] (a request for a session another replica holds goes there).
//!
//! Handlers take [`McpState`] (a sub-state of the application's, [`state`]): the relay,
//! the sessions, the limits, access control (to audit refusals) and the drain phase.
//! Modules depend downward only: handlers ([`endpoint`], [`legacy_sse`]) -> [`dispatch`]
//! -> [`describe`] / [`fanout`] -> [`state`] -> [`session`] -> [`dedicated`] ->
//! [`outbox`]; [`scope`], [`names`], [`reply`], [`era`] and [`stream`] below them.
//!
//! What a client can make the gateway hold is bounded (settings in `config/mcp.rs`):
//! live and closed sessions ([`session`], [`closed`]), dedicated upstreams per template
//! and per principal, HTTP+SSE connections per replica and per principal ([`quota`]), and
//! what each HTTP+SSE connection or dedicated session buffers for a client that does not
//! read ([`backlog`], [`outbox`]).

mod backlog;
mod closed;
mod connections;
mod dedicated;
mod describe;
mod dispatch;
mod endpoint;
mod era;
mod fanout;
mod forward;
mod legacy_sse;
mod names;
mod notify;
mod outbox;
mod quota;
mod reply;
mod scope;
mod session;
mod state;
mod stream;

use std::sync::Arc;

use axum::{
    Router,
    extract::FromRef,
    routing::{get, post},
};
pub(crate) use forward::divert;
pub(crate) use session::Sessions;
pub(crate) use state::McpState;

/// `/mcp` and `/mcp/{template}`: POST, GET, DELETE; the 2024-11-05 HTTP+SSE pair
/// `/mcp/{template}/sse` and `/mcp/{template}/messages`.
pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<McpState>: FromRef<S>,
{
    Router::new()
        .route(
            "/mcp",
            post(endpoint::post)
                .get(endpoint::get)
                .delete(endpoint::delete),
        )
        .route(
            "/mcp/{template}",
            post(endpoint::post)
                .get(endpoint::get)
                .delete(endpoint::delete),
        )
        .route("/mcp/{template}/sse", get(legacy_sse::open))
        .route("/mcp/{template}/messages", post(legacy_sse::message))
}
