//! What the relay is asked: a [`Call`] (method and raw params) for a [`Target`] (a
//! template's pool, one instance of it, or a session's own upstream).

use std::{sync::Arc, time::Duration};

use gateway_core::mcp::Method;
use gateway_transport::Upstream;
use serde_json::value::RawValue;

use crate::registry::{InstanceHandle, TemplateRoute};

/// Where a call goes.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    /// Some instance of the template: balanced, gated by each instance's breaker,
    /// retried on the next candidate when safe.
    Template(&'a str),
    /// This instance of the route, once (a list's next pages stay on the instance that
    /// issued the cursor).
    Instance(&'a TemplateRoute, &'a Arc<InstanceHandle>),
    /// A client session's own upstream, pinned to one instance (dedicated mode). Its
    /// outcomes count in that instance's health and statistics; there is nowhere else
    /// to go, so its breaker is not asked.
    Pinned(&'a Pinned),
}

/// One MCP request to relay; the method was parsed once, where the request came in.
pub(crate) struct Call {
    pub(crate) method: Method,
    /// Forwarded byte for byte (the transport rewrites only ids, progress tokens and,
    /// for 2026-07-28 upstreams, `_meta`).
    pub(crate) params: Option<Box<RawValue>>,
}

impl Call {
    pub(crate) fn new(method: Method, params: Option<Box<RawValue>>) -> Self {
        Self { method, params }
    }
}

/// A connection of one client session's own, to one instance of a template.
pub(crate) struct Pinned {
    /// The template (for errors and traces).
    pub(crate) template: Box<str>,
    /// The instance it runs on: its health, counters and in-flight count.
    pub(crate) handle: Arc<InstanceHandle>,
    /// The session's own connection (not the instance's pooled one).
    pub(crate) upstream: Upstream,
    /// The template's request timeout.
    pub(crate) timeout: Duration,
}
