//! [`AppState`]: the handles every handler shares, and the sub-states each area takes
//! from it (axum `FromRef`): the relay for the REST facade and the MCP endpoints, the MCP
//! state, access control, the drain phase. A module below this one never names
//! `AppState`, so none of them import each other through it.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::{
    auth::Access,
    browser::Browser,
    drain::Drain,
    mcp::McpState,
    metrics::HttpMetrics,
    registry::Registry,
    relay::{GatewayStats, Relay},
};

/// Shared by all handlers. Cloned several times per request (router, middleware,
/// extractors), so a clone is one reference-count increment.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

impl AppState {
    pub(crate) fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares; each part is its own `Arc` for the tasks that outlive a
/// request (health sync, shutdown).
pub(crate) struct Shared {
    /// Templates and instances: writes (management API) and the routing snapshot.
    pub(crate) registry: Arc<Registry>,
    /// The one way to an upstream (reads the registry's routing snapshot).
    pub(crate) relay: Relay,
    /// The relay's counters (the statistics API and `/metrics` read them).
    pub(crate) stats: Arc<GatewayStats>,
    /// HTTP requests by route and status class, open connections.
    pub(crate) http: Arc<HttpMetrics>,
    pub(crate) max_body: usize,
    /// Authentication, authorization, rate limits and audit (inert when auth is off).
    pub(crate) access: Arc<Access>,
    /// Native MCP endpoints: sessions, naming, limits.
    pub(crate) mcp: Arc<McpState>,
    /// Host/Origin policy and CORS, applied to every route.
    pub(crate) browser: Arc<Browser>,
    /// The shutdown phase: SSE streams end when draining starts.
    pub(crate) drain: Arc<Drain>,
    /// This replica's id, the shared Redis and the change feed's state.
    pub(crate) fleet: Arc<crate::fleet::Fleet>,
}

impl FromRef<AppState> for Relay {
    fn from_ref(state: &AppState) -> Self {
        state.relay.clone()
    }
}

impl FromRef<AppState> for Arc<McpState> {
    fn from_ref(state: &AppState) -> Self {
        state.mcp.clone()
    }
}

impl FromRef<AppState> for Arc<Access> {
    fn from_ref(state: &AppState) -> Self {
        state.access.clone()
    }
}

impl FromRef<AppState> for Arc<Drain> {
    fn from_ref(state: &AppState) -> Self {
        state.drain.clone()
    }
}
