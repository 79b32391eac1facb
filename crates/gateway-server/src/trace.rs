//! Tracing at the edge: one `request` span per inbound request (HTTP method, matched
//! route, path, request id), into which the MCP and REST handlers record the MCP method
//! once they know it; each upstream attempt opens its own `upstream` span below it
//! (`relay::attempt`). Field names follow the OpenTelemetry conventions for MCP
//! (`mcp.method.name`, `http.route`, ...). Both spans are at debug level: filtered out,
//! they cost a level check, and their field values are never computed.

use axum::{extract::MatchedPath, http::Request};
use gateway_core::mcp::Method;
use tower_http::trace::MakeSpan;
use tracing::{Level, Span, field::Empty};

/// Makes the `request` span (for `tower_http::trace::TraceLayer`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        tracing::debug_span!(
            "request",
            otel.kind = "server",
            http.request.method = request.method().as_str(),
            http.route = request
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str),
            url.path = request.uri().path(),
            request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok()),
            mcp.method.name = Empty,
            "error.type" = Empty,
        )
    }
}

/// Records the MCP method of the current request on its span (a level check when
/// tracing at debug level is off).
pub(crate) fn record_method(method: &Method) {
    if tracing::level_enabled!(Level::DEBUG) {
        Span::current().record("mcp.method.name", method.as_str());
    }
}

/// Records why the current request got no upstream answer (`error.type`).
pub(crate) fn record_error(class: &'static str) {
    if tracing::level_enabled!(Level::DEBUG) {
        Span::current().record("error.type", class);
    }
}
