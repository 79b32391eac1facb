//! `GET /mcp/{template}/health`: probes every instance now (MCP `ping`, or
//! `server/discover` for 2026-07-28 upstreams) and answers in the guide's shape.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, State},
};
use gateway_core::{
    HealthStatus,
    jsonrpc::{Request, RequestId},
    mcp::Era,
};
use gateway_transport::CallOptions;
use serde::Serialize;

use crate::{error::ApiError, registry::InstanceHandle, state::AppState};

/// One instance's health.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct InstanceHealth {
    healthy: bool,
    status: &'static str,
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
    responses((status = 200, body = TemplateHealth), (status = 404, body = gateway_core::api::ErrorBody)))]
pub(crate) async fn template_health(
    State(state): State<AppState>,
    Path(template): Path<String>,
) -> Result<Json<TemplateHealth>, ApiError> {
    let table = state.registry.snapshot();
    let route = table
        .get(&template)
        .ok_or_else(|| ApiError::TemplateNotFound(template.clone()))?;
    let timeout = route.settings.health_check_timeout();
    let probes = route.instances.iter().map(|h| probe(h, timeout));
    let statuses = futures_util::future::join_all(probes).await;
    let mut instances = BTreeMap::new();
    for (handle, status) in route.instances.iter().zip(statuses) {
        instances.insert(
            handle.instance.id.to_string(),
            InstanceHealth {
                healthy: status == HealthStatus::Healthy,
                status: status.as_str(),
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

async fn probe(handle: &InstanceHandle, timeout: std::time::Duration) -> HealthStatus {
    let method = match handle.upstream.info().map(|i| i.era()) {
        Some(Era::Modern) => "server/discover",
        _ => "ping",
    };
    let request = Request::new(RequestId::Number(0), method, None);
    let options = CallOptions {
        timeout: Some(timeout),
        ..CallOptions::default()
    };
    let status = match tokio::time::timeout(timeout, handle.upstream.call(request, options)).await {
        Ok(Ok(_)) => HealthStatus::Healthy,
        Ok(Err(e)) if e.is_unsent() && handle.instance.spec.transport() == "stdio" => {
            HealthStatus::Starting
        }
        _ => HealthStatus::Unhealthy,
    };
    handle.stats.set_status(status);
    status
}
