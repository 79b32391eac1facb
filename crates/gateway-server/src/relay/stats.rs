//! [`GatewayStats`]: gateway-wide counters of relayed calls.

use std::{sync::atomic::AtomicU64, time::Instant};

use crate::metrics::ServerOps;

/// Gateway-wide counters (monotonic; exportable as metrics).
pub(crate) struct GatewayStats {
    pub(crate) started: Instant,
    /// Relayed client calls (a template's pool or a session's own upstream; a list's
    /// further pages are part of their call).
    pub(crate) requests: AtomicU64,
    /// Relayed calls that got no answer.
    pub(crate) errors: AtomicU64,
    /// The same calls, timed by template, method, interface and outcome
    /// (`mcp_server_operation_duration_seconds`).
    pub(crate) ops: ServerOps,
    /// Whether calls are timed (`MCP_GATEWAY_METRICS`; the counters above are kept
    /// either way).
    pub(crate) metrics: bool,
}

impl GatewayStats {
    pub(crate) fn new() -> Self {
        Self {
            started: Instant::now(),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            ops: ServerOps::default(),
            metrics: true,
        }
    }

    /// Counters without the per-call timing (`MCP_GATEWAY_METRICS=off`).
    pub(crate) fn without_metrics() -> Self {
        Self {
            metrics: false,
            ..Self::new()
        }
    }
}
