//! `GET /mcp/{template}/health`: the guide's shape, from the health board (active
//! checks and live traffic), with each instance's circuit state and score.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, State},
};
use gateway_core::api::rfc3339;
use serde::Serialize;

use crate::{error::ApiError, relay::Relay};

/// One instance's health.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct InstanceHealth {
    /// Fit for traffic now.
    healthy: bool,
    /// `healthy`, `unhealthy`, `restarting` (stdio child or SSE stream down, waiting for
    /// its restart), `unknown` (not probed yet) or `starting` (also just after a restart,
    /// until the first probe passes).
    status: &'static str,
    /// Circuit breaker: `closed`, `open` or `half_open`.
    circuit: &'static str,
    /// Health score in 0..=1 (success ratio × latency factor).
    score: f32,
    /// Smoothed latency of recent probes and requests, ms.
    latency_ms: f32,
    /// When the last active check finished (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    last_check: Option<String>,
    /// Why the last active check failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    /// Supervised instances (stdio, legacy SSE): the link and its restarts.
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<LinkHealth>,
}

/// What the transport reports about a supervised instance's link.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct LinkHealth {
    /// `connected`, or `restarting` while the child is down.
    state: &'static str,
    /// Restarts since the instance was registered.
    restarts: u32,
    /// The latest restart's place in its streak of restarts in quick succession (the
    /// back-off doubles with each; the streak ends once the link stays up).
    attempt: u32,
    /// The latest restart's back-off, ms.
    backoff_ms: u64,
}

impl From<gateway_health::LinkHealth> for LinkHealth {
    fn from(l: gateway_health::LinkHealth) -> Self {
        Self {
            state: if l.down { "restarting" } else { "connected" },
            restarts: l.restarts,
            attempt: l.attempt,
            backoff_ms: u64::try_from(l.backoff.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// The guide's template health document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct TemplateHealth {
    template_name: String,
    status: &'static str,
    total_instances: usize,
    healthy_instances: usize,
    health_percentage: f64,
    instances: BTreeMap<String, InstanceHealth>,
}

/// Template health.
#[utoipa::path(get, path = "/mcp/{template}/health", tag = "mcp",
    params(("template" = String, Path, description = "Template name")),
    responses((status = 200, description = "OK", body = TemplateHealth), (status = 404, description = "Not found", body = gateway_core::api::ErrorBody)))]
pub(crate) async fn template_health(
    State(relay): State<Relay>,
    Path(template): Path<String>,
) -> Result<Json<TemplateHealth>, ApiError> {
    let table = relay.routes();
    let route = table
        .get(&template)
        .ok_or_else(|| ApiError::TemplateNotFound(template.clone()))?;
    let mut instances = BTreeMap::new();
    for handle in &route.instances {
        let s = handle.health.snapshot();
        let last = s.last_check.as_ref();
        instances.insert(
            handle.instance.id.to_string(),
            InstanceHealth {
                healthy: s.routable && s.status != gateway_core::HealthStatus::Starting,
                status: handle.status().as_str(),
                circuit: s.circuit.as_str(),
                score: (s.score.get() * 1000.0).round() / 1000.0,
                latency_ms: (s.latency_ms * 10.0).round() / 10.0,
                last_check: last.map(|c| rfc3339(system_ms(c.at))),
                last_error: last.and_then(|c| c.error.clone()),
                link: s.link.map(LinkHealth::from),
            },
        );
    }
    let total = instances.len();
    let healthy = instances.values().filter(|i| i.healthy).count();
    let percentage = if total == 0 {
        0.0
    } else {
        // One decimal, as in the guide (66.7).
        (healthy as f64 * 1000.0 / total as f64).round() / 10.0
    };
    Ok(Json(TemplateHealth {
        template_name: route.name.to_string(),
        status: if healthy > 0 { "healthy" } else { "unhealthy" },
        total_instances: total,
        healthy_instances: healthy,
        health_percentage: percentage,
        instances,
    }))
}

/// Unix milliseconds of a wall-clock time.
pub(crate) fn system_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
