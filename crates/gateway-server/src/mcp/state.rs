//! [`McpState`]: what the MCP endpoints share (a sub-state of the application's state).

use std::{sync::Arc, time::Duration};

use super::{connections::Connections, dedicated::SessionCounts, session::Sessions};
use crate::{auth::Access, config::McpLimits, drain::Drain, fleet::hop::Hop, relay::Relay};

/// What the MCP endpoints use.
pub(crate) struct McpState {
    /// The way to upstreams, and the routing snapshot (which templates exist).
    pub(crate) relay: Relay,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) separator: Arc<str>,
    pub(crate) keepalive: Duration,
    /// Dedicated upstream sessions per template, against `max_sessions`.
    pub(crate) dedicated_counts: SessionCounts,
    /// Open 2024-11-05 HTTP+SSE connections.
    pub(crate) legacy_sse: Connections,
    /// Caps on sessions, connections and queues.
    pub(crate) limits: McpLimits,
    /// Audits refusals (a missing scope).
    pub(crate) access: Arc<Access>,
    /// Notification streams end when shutdown starts.
    pub(crate) drain: Arc<Drain>,
    /// This replica's identity in the fleet (stamped on the sessions it owns), and the
    /// way to the replicas that own other sessions.
    pub(crate) hop: Arc<Hop>,
}

impl McpState {
    #[allow(clippy::too_many_arguments)] // a constructor of plain parts, called once
    pub(crate) fn new(
        relay: Relay,
        sessions: Arc<Sessions>,
        separator: &str,
        keepalive: Duration,
        limits: McpLimits,
        access: Arc<Access>,
        drain: Arc<Drain>,
        hop: Arc<Hop>,
    ) -> Self {
        Self {
            relay,
            sessions,
            separator: Arc::from(separator),
            keepalive,
            dedicated_counts: SessionCounts::default(),
            legacy_sse: Connections::default(),
            limits,
            access,
            drain,
            hop,
        }
    }
}
