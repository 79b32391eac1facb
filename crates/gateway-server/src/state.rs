//! [`AppState`]: the handles every handler shares.

use std::{
    sync::{Arc, atomic::AtomicU64},
    time::Instant,
};

use crate::registry::Registry;

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
    pub(crate) registry: Arc<Registry>,
    pub(crate) stats: Arc<GatewayStats>,
    /// Retries may add at most 20% load (plus a small reserve).
    pub(crate) retry_budget: Arc<gateway_health::RetryBudget>,
    pub(crate) max_body: usize,
    /// Authentication, authorization, rate limits and audit (inert when auth is off).
    pub(crate) access: Arc<crate::auth::Access>,
    /// Native MCP endpoints: sessions, Origin/Host policy, naming.
    pub(crate) mcp: Arc<crate::mcp::McpState>,
    /// Host/Origin policy and CORS, applied to every route.
    pub(crate) browser: Arc<crate::browser::Browser>,
    /// The shutdown phase: SSE streams end when draining starts.
    pub(crate) drain: Arc<crate::drain::Drain>,
    /// This replica's id, the shared Redis and the change feed's state.
    pub(crate) fleet: Arc<crate::fleet::Fleet>,
}

/// Gateway-wide counters (monotonic; exportable as metrics).
pub(crate) struct GatewayStats {
    pub(crate) started: Instant,
    /// Proxied upstream calls.
    pub(crate) requests: AtomicU64,
    /// Proxied calls that failed in transport.
    pub(crate) errors: AtomicU64,
}

impl GatewayStats {
    pub(crate) fn new() -> Self {
        Self {
            started: Instant::now(),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }
}
