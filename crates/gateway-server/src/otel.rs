//! OpenTelemetry trace export (feature `otel`): when `MCP_GATEWAY_OTLP_ENDPOINT` or the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set,
//! the gateway's SERVER (`mcp`) and CLIENT (`upstream`) spans are exported over OTLP/HTTP
//! (`OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`, the default, or `http/json`).
//!
//! The layer sees only those two spans, through a filter of its own: the log level
//! (`RUST_LOG`, `--log-level`) is unchanged, and nothing else becomes a span or an event
//! in the trace. The SDK reads the other standard variables itself: `OTEL_SERVICE_NAME`
//! (default `mcp-gateway`), `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER[_ARG]`,
//! `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`, `_TIMEOUT`, `_COMPRESSION`, and `OTEL_BSP_*`
//! (batching). `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn export off.
//!
//! Spans are batched and sent from a tokio task (the SDK's own batch thread cannot drive
//! the async HTTP client), so [`Tracing::install`] must run inside a tokio runtime, and
//! [`Tracing::shutdown`] outside it (it waits for the last batch).

use std::collections::HashMap;

use gateway_transport::TraceContext;
use opentelemetry::{
    propagation::TextMapPropagator as _,
    trace::{TraceContextExt as _, TracerProvider as _},
};
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::{
    Resource,
    propagation::TraceContextPropagator,
    runtime,
    trace::{SdkTracerProvider, span_processor_with_async_runtime::BatchSpanProcessor},
};
use tracing::{Metadata, Span, Subscriber, level_filters::LevelFilter};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::{Layer, filter, registry::LookupSpan};

/// The gateway's own endpoint setting: a base URL, like `OTEL_EXPORTER_OTLP_ENDPOINT`
/// (`/v1/traces` is appended).
pub const ENDPOINT_ENV: &str = "MCP_GATEWAY_OTLP_ENDPOINT";

/// The span names exported (the SERVER span of `trace::server_span`, the CLIENT span
/// of `trace::client_span`).
const EXPORTED: [&str; 2] = ["mcp", "upstream"];

/// A running exporter.
#[derive(Debug)]
pub struct Tracing {
    provider: SdkTracerProvider,
    endpoint: String,
}

/// A layer for a `tracing_subscriber::Registry` stack.
pub type BoxedLayer<S> = Box<dyn Layer<S> + Send + Sync + 'static>;

impl Tracing {
    /// The export layer and its exporter when an endpoint is set (`Ok(None)` when not,
    /// or when the standard variables turn export off). Must run inside a tokio
    /// runtime. The error says which setting is wrong.
    pub fn install<S>() -> Result<Option<(BoxedLayer<S>, Tracing)>, String>
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        let own = non_empty(ENDPOINT_ENV);
        let standard = non_empty("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| non_empty("OTEL_EXPORTER_OTLP_ENDPOINT"));
        if own.is_none() && standard.is_none() {
            return Ok(None);
        }
        if non_empty("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || non_empty("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"))
        {
            return Ok(None);
        }
        let mut builder = opentelemetry_otlp::SpanExporter::builder().with_http();
        if let Some(own) = &own {
            builder = builder.with_endpoint(traces_url(own));
        }
        let protocol = non_empty("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .or_else(|| non_empty("OTEL_EXPORTER_OTLP_PROTOCOL"));
        builder = builder.with_protocol(match protocol.as_deref() {
            Some("http/json") => Protocol::HttpJson,
            None | Some("http/protobuf") => Protocol::HttpBinary,
            Some(other) => {
                return Err(format!(
                    "OTEL_EXPORTER_OTLP_PROTOCOL={other:?} is not supported: use \
                     http/protobuf or http/json (this build exports over HTTP only)"
                ));
            }
        });
        let exporter = builder
            .build()
            .map_err(|e| format!("OTLP trace exporter: {e}"))?;
        let processor = BatchSpanProcessor::builder(exporter, runtime::Tokio).build();
        let mut resource = Resource::builder();
        let named = non_empty("OTEL_SERVICE_NAME").is_some()
            || non_empty("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|a| a.contains("service.name="));
        if !named {
            resource = resource.with_service_name("mcp-gateway");
        }
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource.build())
            .build();
        let tracer = provider.tracer("mcp-gateway");
        let layer = tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(filter::filter_fn(exported).with_max_level_hint(LevelFilter::DEBUG));
        Ok(Some((
            Box::new(layer),
            Tracing {
                provider,
                endpoint: own.unwrap_or_else(|| "OTEL_EXPORTER_OTLP_*".to_owned()),
            },
        )))
    }

    /// Where spans go (for the startup log).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sends what is still batched and stops. Call it outside the runtime's tasks (it
    /// blocks until the export task answers), while the runtime still runs.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "trace export did not shut down cleanly");
        }
    }
}

fn exported(metadata: &Metadata<'_>) -> bool {
    metadata.is_span()
        && metadata.target().starts_with("gateway_server")
        && EXPORTED.contains(&metadata.name())
}

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A base URL with the traces path appended (as the OTLP spec does for
/// `OTEL_EXPORTER_OTLP_ENDPOINT`), unless it already ends with it.
fn traces_url(base: &str) -> String {
    let base = base.trim().trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    }
}

/// Makes `trace` (the client's context) the parent of `span`, which must not have been
/// entered yet.
pub(crate) fn set_parent(span: &Span, trace: &TraceContext) {
    let mut carrier = HashMap::with_capacity(2);
    if let Ok(parent) = trace.traceparent.to_str() {
        carrier.insert(
            crate::trace_context::TRACEPARENT.to_owned(),
            parent.to_owned(),
        );
    }
    if let Some(state) = trace.tracestate.as_ref().and_then(|s| s.to_str().ok()) {
        carrier.insert(
            crate::trace_context::TRACESTATE.to_owned(),
            state.to_owned(),
        );
    }
    let cx = TraceContextPropagator::new().extract(&carrier);
    // Without the export layer (debug logs only) there is no parent to set.
    let _ = span.set_parent(cx);
}

/// The W3C context of `span` when it is exported (`None` otherwise): what the upstream
/// is given, so its spans are children of this attempt.
pub(crate) fn context_of(span: &Span) -> Option<TraceContext> {
    if span.is_disabled() {
        return None;
    }
    let cx = span.context();
    let otel = cx.span();
    let sc = otel.span_context();
    if !sc.is_valid() {
        return None;
    }
    let parent = format!(
        "00-{}-{}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    );
    let state = sc.trace_state().header();
    TraceContext::parse(&parent, Some(&state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_gets_the_traces_path_once() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c/v1/traces"), "http://c/v1/traces");
    }
}
