//! `GET /metrics`: the Prometheus page, written at scrape time from the counters the
//! relay, health checks, auth layer and HTTP layer keep (the same ones
//! `/gateway/stats` reads). Needs `gateway:read` when authentication is on; a reader
//! limited to some templates sees only their series. Without authentication it can
//! also be served on a listener of its own (`--metrics-addr`).

use std::sync::{Arc, atomic::Ordering};

use axum::{extract::State, http::header, response::IntoResponse};

use super::audience::Audience;
use crate::{
    metrics::{CONTENT_TYPE, Exposition, Process},
    registry::{InstanceHandle, InstanceStatus, TemplateRoute, load},
    state::AppState,
};

const SERVER_OPS: &str = "mcp_server_operation_duration_seconds";
const CLIENT_OPS: &str = "mcp_client_operation_duration_seconds";
const SESSION_DURATION: &str = "mcp_server_session_duration_seconds";

/// The metrics page (Prometheus text format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "gateway",
    responses((status = 200, description = "Prometheus text format (see the README's metrics table)", content_type = "text/plain")))]
pub(crate) async fn metrics(
    State(state): State<AppState>,
    audience: Audience,
) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        render(&state, &audience),
    )
}

/// The whole page for `audience`.
pub(crate) fn render(state: &AppState, audience: &Audience) -> String {
    let mut page = Exposition::default();
    build_info(&mut page);
    operations(&mut page, state, audience);
    let table = state.registry.snapshot();
    let visible: Vec<&Arc<TemplateRoute>> = table
        .templates
        .values()
        .filter(|t| audience.sees_template(t.name.as_str()))
        .collect();
    client_operations(&mut page, &visible);
    instances(&mut page, &visible);
    gateway(&mut page, state, audience.is_limited());
    sessions(&mut page, state, audience);
    state.access.refusals.write(&mut page);
    let name = "mcp_gateway_audit_dropped_total";
    page.family(
        name,
        "counter",
        "Audit events dropped because the audit queue was full.",
    );
    let dropped = state.access.auditor.as_ref().map_or(0, |a| a.dropped());
    page.sample(name, &[], dropped as f64);
    state.http.write(&mut page);
    Process::read().write(&mut page);
    page.finish()
}

fn build_info(page: &mut Exposition) {
    let name = "mcp_gateway_build_info";
    page.family(name, "gauge", "The gateway's version; always 1.");
    page.sample(name, &[("version", env!("CARGO_PKG_VERSION"))], 1.0);
}

/// `mcp_server_operation_duration_seconds`: one observation per relayed client request.
fn operations(page: &mut Exposition, state: &AppState, audience: &Audience) {
    page.family(
        SERVER_OPS,
        "histogram",
        "Relayed client requests (MCP server operations), by method, template, interface and error type.",
    );
    state
        .stats
        .ops
        .each(|template, method, interface, error_type, h| {
            if audience.sees_template(template) {
                let labels = [
                    ("mcp_method_name", method),
                    ("template", template),
                    ("interface", interface),
                    ("error_type", error_type),
                ];
                page.histogram(SERVER_OPS, &labels, h);
            }
        });
}

/// `mcp_client_operation_duration_seconds`: one observation per upstream attempt.
fn client_operations(page: &mut Exposition, templates: &[&Arc<TemplateRoute>]) {
    page.family(
        CLIENT_OPS,
        "histogram",
        "Upstream attempts (MCP client operations), by method, template, instance, network transport and error type.",
    );
    for t in templates {
        for h in &t.instances {
            let transport = h.upstream.transport().network();
            for (method, error_type, histogram) in h.ops.used() {
                let labels = [
                    ("mcp_method_name", method),
                    ("template", t.name.as_str()),
                    ("instance", h.instance.id.as_str()),
                    ("network_transport", transport),
                    ("error_type", error_type),
                ];
                page.histogram(CLIENT_OPS, &labels, histogram);
            }
        }
    }
}

/// A per-instance family: name, type, help, and how to read its value (NaN: absent).
type PerInstance = (
    &'static str,
    &'static str,
    &'static str,
    fn(&InstanceHandle) -> f64,
);

/// Per-instance health, circuit, load and restarts.
fn instances(page: &mut Exposition, templates: &[&Arc<TemplateRoute>]) {
    let each = || {
        templates
            .iter()
            .flat_map(|t| t.instances.iter().map(move |h| (t.name.as_str(), h)))
    };
    let statuses = [
        InstanceStatus::Healthy,
        InstanceStatus::Unhealthy,
        InstanceStatus::Restarting,
        InstanceStatus::Unknown,
        InstanceStatus::Starting,
    ];
    let name = "mcp_gateway_instance_healthy";
    page.family(
        name,
        "gauge",
        "1 when the instance is fit for traffic, else 0.",
    );
    for (t, h) in each() {
        let labels = [("template", t), ("instance", h.instance.id.as_str())];
        page.sample(name, &labels, f64::from(u8::from(h.is_healthy())));
    }
    let name = "mcp_gateway_instance_status";
    page.family(
        name,
        "gauge",
        "The instance's status: 1 for the current one.",
    );
    for (t, h) in each() {
        let current = h.status();
        for s in statuses {
            let labels = [
                ("template", t),
                ("instance", h.instance.id.as_str()),
                ("status", s.as_str()),
            ];
            page.sample(name, &labels, f64::from(u8::from(s == current)));
        }
    }
    let name = "mcp_gateway_instance_circuit_state";
    page.family(
        name,
        "gauge",
        "The instance's circuit breaker: 1 for its current state.",
    );
    for (t, h) in each() {
        let current = h.health.snapshot().circuit.as_str();
        for s in ["closed", "open", "half_open"] {
            let labels = [
                ("template", t),
                ("instance", h.instance.id.as_str()),
                ("state", s),
            ];
            page.sample(name, &labels, f64::from(u8::from(s == current)));
        }
    }
    let gauges: [PerInstance; 8] = [
        (
            "mcp_gateway_instance_in_flight",
            "gauge",
            "Upstream calls in flight on the instance.",
            |h| h.counter.get() as f64,
        ),
        (
            "mcp_gateway_instance_admission_limit",
            "gauge",
            "The instance's upstream_limits.max_in_flight: calls it may serve at once.",
            |h| h.gate.max_in_flight() as f64,
        ),
        (
            "mcp_gateway_instance_admission_pending",
            "gauge",
            "Calls waiting for one of the instance's in-flight slots.",
            |h| h.gate.pending() as f64,
        ),
        (
            "mcp_gateway_instance_admission_refused_full_total",
            "counter",
            "Calls the instance's admission gate turned away at once (every slot taken and the wait queue full; with other instances left, the call went on to them).",
            |h| h.gate.refused().0 as f64,
        ),
        (
            "mcp_gateway_instance_admission_refused_expired_total",
            "counter",
            "Calls that waited for an in-flight slot of the instance until their deadline.",
            |h| h.gate.refused().1 as f64,
        ),
        (
            "mcp_gateway_instance_health_score",
            "gauge",
            "The instance's health score (the health-based balancer's weight input).",
            |h| f64::from(h.health.snapshot().score.get()),
        ),
        (
            "mcp_gateway_instance_last_check_ok",
            "gauge",
            "1 when the instance's latest active probe passed, 0 when it failed (absent before the first).",
            |h| {
                h.health
                    .snapshot()
                    .last_check
                    .map_or(f64::NAN, |c| f64::from(u8::from(c.ok)))
            },
        ),
        (
            "mcp_gateway_instance_restarts_total",
            "counter",
            "Times the instance's supervised link (stdio child, SSE stream) went down and was restarted.",
            |h| {
                h.health
                    .snapshot()
                    .link
                    .map_or(0.0, |l| f64::from(l.restarts))
            },
        ),
    ];
    for (name, kind, help, value) in gauges {
        page.family(name, kind, help);
        for (t, h) in each() {
            let v = value(h);
            if !v.is_nan() {
                let labels = [("template", t), ("instance", h.instance.id.as_str())];
                page.sample(name, &labels, v);
            }
        }
    }
}

/// Gateway-wide counters: relayed requests and failures (what `/gateway/stats` calls
/// `total_requests` and `failed_requests`), retries, health checks.
fn gateway(page: &mut Exposition, state: &AppState, limited: bool) {
    if !limited {
        let name = "mcp_gateway_requests_total";
        page.family(
            name,
            "counter",
            "Relayed client requests (the `total_requests` of /gateway/stats).",
        );
        page.sample(
            name,
            &[],
            state.stats.requests.load(Ordering::Relaxed) as f64,
        );
        let name = "mcp_gateway_request_failures_total";
        page.family(
            name,
            "counter",
            "Relayed client requests that got no upstream answer (the `failed_requests` of /gateway/stats).",
        );
        page.sample(name, &[], state.stats.errors.load(Ordering::Relaxed) as f64);
    }
    let budget = state.relay.budget();
    let counters: [(&str, &str, f64); 2] = [
        (
            "mcp_gateway_retries_total",
            "Retries on another instance, granted by the retry budget.",
            budget.granted() as f64,
        ),
        (
            "mcp_gateway_retries_refused_total",
            "Retries not made because the retry budget was spent.",
            budget.refused() as f64,
        ),
    ];
    for (name, help, value) in counters {
        page.family(name, "counter", help);
        page.sample(name, &[], value);
    }
    let name = "mcp_gateway_retry_budget_available";
    page.family(name, "gauge", "Retries the retry budget would grant now.");
    page.sample(name, &[], f64::from(budget.available()));
    let board = state.registry.board();
    let c = board.counters();
    let checks = load(&c.checks);
    let failures = load(&c.check_failures);
    let name = "mcp_gateway_health_checks_total";
    page.family(name, "counter", "Active health probes run, by result.");
    page.sample(
        name,
        &[("result", "ok")],
        checks.saturating_sub(failures) as f64,
    );
    page.sample(name, &[("result", "failed")], failures as f64);
    let counters: [(&str, &str, u64); 3] = [
        (
            "mcp_gateway_health_transitions_total",
            "Instance status and circuit transitions.",
            load(&c.transitions),
        ),
        (
            "mcp_gateway_circuit_openings_total",
            "Times an instance's circuit breaker opened.",
            load(&c.circuit_openings),
        ),
        (
            "mcp_gateway_link_restarts_total",
            "Times a supervised link (stdio child, SSE stream) went down and was restarted.",
            load(&c.link_restarts),
        ),
    ];
    for (name, help, value) in counters {
        page.family(name, "counter", help);
        page.sample(name, &[], value as f64);
    }
}

/// Sessions and connections of the MCP endpoints on this replica.
fn sessions(page: &mut Exposition, state: &AppState, audience: &Audience) {
    let mcp = &state.mcp;
    let (shared, dedicated) = mcp.sessions.live_by_mode();
    let name = "mcp_gateway_sessions_active";
    page.family(
        name,
        "gauge",
        "Streamable HTTP sessions live on this replica, by mode (dedicated: with an upstream session of their own).",
    );
    page.sample(name, &[("mode", "shared")], shared as f64);
    page.sample(name, &[("mode", "dedicated")], dedicated as f64);
    let name = "mcp_gateway_dedicated_sessions_in_use";
    page.family(
        name,
        "gauge",
        "Dedicated upstream sessions open, per template (against its max_sessions).",
    );
    let mut in_use = mcp.dedicated_counts.per_template();
    in_use.sort();
    for (template, n) in in_use {
        if audience.sees_template(&template) {
            page.sample(name, &[("template", &template)], n as f64);
        }
    }
    let name = "mcp_gateway_legacy_sse_connections";
    page.family(name, "gauge", "Open 2024-11-05 HTTP+SSE connections.");
    page.sample(name, &[], mcp.legacy_sse.open() as f64);
    page.family(
        SESSION_DURATION,
        "histogram",
        "How long Streamable HTTP sessions lasted: from issue to DELETE, or to their last use when this replica dropped them idle.",
    );
    page.histogram(SESSION_DURATION, &[], &mcp.sessions.durations);
}
