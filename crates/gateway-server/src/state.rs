//! [`AppState`]: the handles every handler shares.

use std::{
    sync::{Arc, atomic::AtomicU64},
    time::Instant,
};

use crate::registry::Registry;

/// Shared by all handlers (cheap to clone).
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) registry: Arc<Registry>,
    pub(crate) stats: Arc<GatewayStats>,
    pub(crate) max_body: usize,
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
