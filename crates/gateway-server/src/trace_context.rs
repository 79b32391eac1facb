//! The W3C trace context as a client sends it: the header and `params._meta` key names
//! (SEP-414) and reading it from request headers. A leaf module: the request scope
//! (`request_id`), the spans (`trace`) and the exporter (`otel`) all read it.

use axum::http::HeaderMap;
use gateway_transport::TraceContext;

/// The keys of the W3C trace context, as headers and in `params._meta` (SEP-414).
pub(crate) const TRACEPARENT: &str = "traceparent";
/// See [`TRACEPARENT`].
pub(crate) const TRACESTATE: &str = "tracestate";

/// The client's trace context from the `traceparent`/`tracestate` headers (`None`
/// without a well-formed `traceparent`: one header lookup).
pub(crate) fn from_headers(headers: &HeaderMap) -> Option<TraceContext> {
    let parent = headers.get(TRACEPARENT)?.to_str().ok()?;
    let state = headers.get(TRACESTATE).and_then(|v| v.to_str().ok());
    TraceContext::parse(parent, state)
}
