//! Tracing at the edge: one `request` span per inbound request (HTTP method, matched
//! route, path, request id), into which the MCP and REST handlers record the MCP method
//! once they know it. Once the method is known they also open the OpenTelemetry SERVER
//! span of the MCP request ([`server_span`], named `{mcp.method.name} {target}`, e.g.
//! `tools/call echo`), whose parent is the client's W3C trace context; each upstream
//! attempt opens its CLIENT span (`upstream`) below it (`relay::attempt`). Field names
//! follow the OpenTelemetry conventions for MCP (`mcp.method.name`, `gen_ai.tool.name`,
//! `http.route`, ...). Every span is at debug level: filtered out (no OTLP export, no
//! debug log), they cost a level check, and their field values are never computed.

use axum::{extract::MatchedPath, http::Request};
use gateway_core::{
    jsonrpc::{Outcome, RequestId},
    mcp::{Method, ParamsView, RawObject},
};
use gateway_transport::TraceContext;
use serde_json::value::RawValue;
use tower_http::trace::MakeSpan;
use tracing::{Level, Span, field::Empty};

pub(crate) use crate::trace_context::{TRACEPARENT, TRACESTATE};

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
        record_failure(&Span::current(), class);
    }
}

/// What the SERVER span reads from `params._meta`.
#[derive(Default, serde::Deserialize)]
struct Meta<'a> {
    #[serde(borrow, default)]
    traceparent: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    tracestate: Option<std::borrow::Cow<'a, str>>,
    /// Present on 2026-07-28 requests.
    #[serde(borrow, default, rename = "io.modelcontextprotocol/protocolVersion")]
    protocol_version: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> Meta<'a> {
    fn parse(meta: Option<&'a RawValue>) -> Self {
        meta.and_then(|m| serde_json::from_str(m.get()).ok())
            .unwrap_or_default()
    }

    /// The client's trace context from `params._meta` (the MCP convention).
    fn trace(&self) -> Option<TraceContext> {
        TraceContext::parse(self.traceparent.as_deref()?, self.tracestate.as_deref())
    }
}

/// What a SERVER span knows of its request besides the method and params.
#[derive(Default)]
pub(crate) struct Inbound<'a> {
    /// The JSON-RPC id (absent for the REST facade).
    pub(crate) id: Option<&'a RequestId>,
    /// `Mcp-Session-Id`: session-era requests only.
    pub(crate) session: Option<&'a str>,
    /// The protocol version the request speaks, when known.
    pub(crate) protocol: Option<&'a str>,
}

/// The SERVER span of one MCP request (`mcp`, debug level): named `{method} {target}`,
/// with the conventions' attributes, and the client's trace context as its parent
/// (`params._meta.traceparent` first, else the `traceparent` header). Disabled (a
/// level check, nothing computed) unless traces are exported or debug logs are on.
pub(crate) fn server_span(
    method: &Method,
    params: Option<&RawValue>,
    inbound: Inbound<'_>,
) -> Span {
    let span = tracing::debug_span!(
        "mcp",
        otel.kind = "server",
        otel.name = Empty,
        otel.status_code = Empty,
        mcp.method.name = method.as_str(),
        mcp.protocol.version = Empty,
        mcp.session.id = inbound.session,
        jsonrpc.request.id = Empty,
        gen_ai.operation.name = Empty,
        gen_ai.tool.name = Empty,
        gen_ai.prompt.name = Empty,
        mcp.resource.uri = Empty,
        network.transport = "tcp",
        rpc.response.status_code = Empty,
        "error.type" = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    match inbound.id {
        Some(RequestId::Number(n)) => span.record("jsonrpc.request.id", n),
        Some(RequestId::String(s)) => span.record("jsonrpc.request.id", &**s),
        None => &span,
    };
    let view = ParamsView::parse(params).ok();
    record_target(&span, method, view.as_ref());
    let meta = Meta::parse(view.as_ref().and_then(|v| v.meta));
    if let Some(version) = meta.protocol_version.as_deref().or(inbound.protocol) {
        span.record("mcp.protocol.version", version);
    }
    let parent = meta.trace().or_else(crate::request_id::client_trace);
    #[cfg(feature = "otel")]
    if let Some(parent) = &parent {
        crate::otel::set_parent(&span, parent);
    }
    #[cfg(not(feature = "otel"))]
    let _ = parent;
    span
}

/// The CLIENT span of one upstream attempt (`upstream`, debug level), a child of the
/// current (SERVER) span.
pub(crate) fn client_span(
    method: &Method,
    params: Option<&RawValue>,
    template: &str,
    instance: &str,
    upstream: &gateway_transport::Upstream,
    attempt: u32,
) -> Span {
    // Field values are only evaluated when the span is enabled.
    let span = tracing::debug_span!(
        "upstream",
        otel.kind = "client",
        otel.name = Empty,
        otel.status_code = Empty,
        mcp.method.name = method.as_str(),
        mcp.protocol.version = Empty,
        gen_ai.operation.name = Empty,
        gen_ai.tool.name = Empty,
        gen_ai.prompt.name = Empty,
        mcp.resource.uri = Empty,
        template,
        instance,
        network.transport = upstream.transport().network(),
        server.address = Empty,
        server.port = Empty,
        attempt,
        outcome = Empty,
        rpc.response.status_code = Empty,
        "error.type" = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    let view = ParamsView::parse(params).ok();
    record_target(&span, method, view.as_ref());
    if let Some(info) = upstream.info() {
        span.record("mcp.protocol.version", info.protocol_version.as_str());
    }
    if let Some((host, port)) = upstream.server_address() {
        span.record("server.address", host.as_str());
        span.record("server.port", port);
    }
    span
}

/// `otel.name` (`{method} {target}`) and the target's own attribute.
fn record_target(span: &Span, method: &Method, view: Option<&ParamsView<'_>>) {
    let name = view.and_then(|v| v.name.as_deref());
    let uri = view.and_then(|v| v.uri.as_deref());
    let target = match method.name_param() {
        Some("uri") => uri,
        Some(_) => name,
        None => None,
    };
    match target {
        Some(target) => span.record("otel.name", format!("{} {target}", method.as_str())),
        None => span.record("otel.name", method.as_str()),
    };
    match method {
        Method::ToolsCall => {
            span.record("gen_ai.operation.name", "execute_tool");
            if let Some(name) = name {
                span.record("gen_ai.tool.name", name);
            }
        }
        Method::PromptsGet => {
            if let Some(name) = name {
                span.record("gen_ai.prompt.name", name);
            }
        }
        _ if method.as_str().starts_with("resources/") => {
            if let Some(uri) = uri {
                span.record("mcp.resource.uri", uri);
            }
        }
        _ => {}
    }
}

/// Records how an answered call ended on `span` (when enabled): `error.type` is the
/// JSON-RPC error code, or `tool_error` for a result with `isError: true`.
pub(crate) fn record_outcome(span: &Span, outcome: &Outcome) {
    if span.is_disabled() {
        return;
    }
    match outcome {
        Outcome::Error(error) => {
            #[derive(serde::Deserialize)]
            struct Code {
                code: i64,
            }
            if let Ok(Code { code }) = serde_json::from_str::<Code>(error.get()) {
                span.record("rpc.response.status_code", code);
                span.record("error.type", code.to_string());
            } else {
                span.record("error.type", "jsonrpc_error");
            }
            span.record("otel.status_code", "error");
        }
        Outcome::Result(result) => {
            #[derive(serde::Deserialize)]
            struct Flag {
                #[serde(rename = "isError", default)]
                is_error: bool,
            }
            if serde_json::from_str::<Flag>(result.get()).is_ok_and(|f| f.is_error) {
                span.record("error.type", "tool_error");
                span.record("otel.status_code", "error");
            }
        }
    }
}

/// Records why a call got no answer on `span` (`error.type`: the failure's class).
pub(crate) fn record_failure(span: &Span, class: &'static str) {
    span.record("error.type", class);
    span.record("otel.status_code", "error");
}

/// `params` with `_meta.traceparent`/`tracestate` set to `trace` (replacing the
/// client's own); `None` when `params` is not an object (left as it is).
pub(crate) fn with_trace_meta(
    params: Option<&RawValue>,
    trace: &TraceContext,
) -> Option<Box<RawValue>> {
    let mut object = match params {
        Some(p) => RawObject::parse(p).ok()?,
        None => RawObject::default(),
    };
    object.edit_object("_meta", |meta| {
        meta.insert_value(TRACEPARENT, trace.traceparent.to_str().unwrap_or_default());
        match trace.tracestate.as_ref().and_then(|s| s.to_str().ok()) {
            Some(state) => meta.insert_value(TRACESTATE, state),
            None => {
                meta.remove(TRACESTATE);
            }
        }
    });
    Some(object.to_raw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;
    use gateway_core::jsonrpc::to_raw;

    #[test]
    fn meta_gets_the_trace_context_and_keeps_the_rest() {
        let trace = TraceContext::parse(
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            None,
        )
        .unwrap();
        let params = to_raw(&serde_json::json!({
            "name": "echo",
            "_meta": {"progressToken": 3, "traceparent": "old", "tracestate": "a=b"}
        }));
        let out = with_trace_meta(Some(&params), &trace).unwrap();
        let out: serde_json::Value = serde_json::from_str(out.get()).unwrap();
        assert_eq!(out["name"], "echo");
        assert_eq!(out["_meta"]["progressToken"], 3);
        assert_eq!(
            out["_meta"]["traceparent"],
            trace.traceparent.to_str().unwrap()
        );
        assert!(out["_meta"].get("tracestate").is_none());
        let none = with_trace_meta(None, &trace).unwrap();
        assert!(none.get().contains("traceparent"));
        assert!(with_trace_meta(Some(&to_raw(&[1])), &trace).is_none());
        let meta = to_raw(&serde_json::json!({"traceparent": trace.traceparent.to_str().unwrap()}));
        assert_eq!(
            Meta::parse(Some(&meta)).trace().unwrap().trace_id(),
            "0af7651916cd43dd8448eb211c80319c"
        );
    }

    #[test]
    fn only_well_formed_traceparents_are_read() {
        for bad in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x",
        ] {
            assert!(TraceContext::parse(bad, None).is_none(), "{bad}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            TRACEPARENT,
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                .parse()
                .unwrap(),
        );
        headers.insert(TRACESTATE, "k=v".parse().unwrap());
        let trace = crate::trace_context::from_headers(&headers).unwrap();
        assert_eq!(trace.tracestate.unwrap(), "k=v");
    }
}
