//! One `info` line per HTTP request (target `mcp_gateway::request`): request id,
//! principal (its name only), template, instance, MCP method, status and duration.
//! Never a credential, a body or a tool's arguments.
//!
//! What only inner layers know (who the caller is, which template and instance served
//! the call) is noted on a task-local [`Note`] that the outermost layer
//! (`metrics::http::observe`) scopes around the request and reads when the response is
//! ready. With the line filtered out, no note is made and the relay's hook is a failed
//! task-local lookup.

use std::{sync::OnceLock, time::Duration};

use gateway_core::mcp::Method;

/// The log target of the request lines (`RUST_LOG=mcp_gateway::request=off` silences them).
pub(crate) const TARGET: &str = "mcp_gateway::request";

tokio::task_local! {
    static NOTE: std::sync::Arc<Note>;
}

/// What inner layers learnt about the request being served.
#[derive(Default)]
pub(crate) struct Note {
    principal: OnceLock<Box<str>>,
    /// The first relayed call: template, instance (when one answered), method.
    relayed: OnceLock<Relayed>,
}

struct Relayed {
    template: Box<str>,
    instance: Option<Box<str>>,
    method: &'static str,
}

/// Whether request lines are logged (so whether to make a note).
pub(crate) fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::INFO)
}

/// Runs `future` with `note` in scope.
pub(crate) async fn scope<F: Future>(note: std::sync::Arc<Note>, future: F) -> F::Output {
    NOTE.scope(note, future).await
}

/// Notes the authenticated caller's name (auth layer).
pub(crate) fn principal(name: &str) {
    let _ = NOTE.try_with(|n| n.principal.set(name.into()));
}

/// Notes the template, the instance that answered (if any) and the method of a
/// relayed call; the first call of a request wins (an aggregated list fans out).
pub(crate) fn relayed(template: &str, instance: Option<&str>, method: &Method) {
    let _ = NOTE.try_with(|n| {
        n.relayed.get_or_init(|| Relayed {
            template: template.into(),
            instance: instance.map(Into::into),
            method: crate::metrics::method_label(method),
        });
    });
}

/// The request's line.
pub(crate) struct Line<'a> {
    pub(crate) request_id: Option<&'a str>,
    pub(crate) http_method: &'a str,
    pub(crate) route: &'a str,
    pub(crate) status: u16,
    pub(crate) elapsed: Duration,
}

impl Note {
    /// Logs `line` with what was noted.
    pub(crate) fn log(&self, line: &Line<'_>) {
        let relayed = self.relayed.get();
        tracing::info!(
            target: TARGET,
            request_id = line.request_id.unwrap_or("-"),
            principal = self.principal.get().map_or("-", |p| &**p),
            http_method = line.http_method,
            route = line.route,
            template = relayed.map_or("-", |r| &*r.template),
            instance = relayed.and_then(|r| r.instance.as_deref()).unwrap_or("-"),
            method = relayed.map_or("-", |r| r.method),
            status = line.status,
            duration_ms = line.elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    }
}
