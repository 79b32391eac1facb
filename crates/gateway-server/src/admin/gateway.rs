//! `GET /gateway/health` and `GET /gateway/stats`.

use std::{
    collections::BTreeMap,
    sync::{Arc, atomic::Ordering},
};

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::{Value, json};

use gateway_core::api::rfc3339;

use super::audience::Audience;
use crate::{
    registry::{TemplateRoute, load},
    rest::system_ms,
    state::AppState,
};

/// Gateway health (liveness): 200 `healthy` or `degraded` (some template has no healthy
/// instance, or the configured Redis is unreachable: `degraded_reasons` says which),
/// 503 `unhealthy` when the database is unreachable.
#[utoipa::path(get, path = "/gateway/health", tag = "gateway",
    responses((status = 200, description = "`{\"status\": \"healthy\"|\"degraded\", \"database\", \"templates\", \"instances\": {total, healthy, unhealthy}, \"uptime\", \"replica\", \"redis\"?, \"degraded_reasons\": [\"templates_without_healthy_instances\" | \"redis_unreachable\"]}`"),
              (status = 503, description = "Database unreachable")))]
pub(crate) async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let db_ok = state.registry.store().ping().await.is_ok();
    let table = state.registry.snapshot();
    let total_instances = table.instances().count();
    let healthy = table.instances().filter(|h| h.is_healthy()).count();
    let degraded = table
        .templates
        .values()
        .any(|t| !t.instances.is_empty() && t.healthy_count() == 0);
    let mut reasons = Vec::new();
    if degraded {
        reasons.push("templates_without_healthy_instances");
    }
    if state.fleet.redis_down() {
        reasons.push("redis_unreachable");
    }
    let status = match (db_ok, reasons.is_empty()) {
        (false, _) => "unhealthy",
        (true, false) => "degraded",
        (true, true) => "healthy",
    };
    let body = json!({
        "status": status,
        "database": if db_ok { "healthy" } else { "unhealthy" },
        "database_backend": state.registry.store().backend(),
        "templates": table.templates.len(),
        "instances": { "total": total_instances, "healthy": healthy, "unhealthy": total_instances - healthy },
        "uptime": state.stats.started.elapsed().as_secs_f64(),
        "version": env!("CARGO_PKG_VERSION"),
        "replica": state.fleet.replica_id,
        "degraded_reasons": reasons,
    });
    let mut body = body;
    if let Some(redis) = &state.fleet.redis {
        body["redis"] = json!(if redis.is_up() {
            "healthy"
        } else {
            "unreachable"
        });
    }
    let code = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}

/// Counters: requests, errors, latency, per-instance load distribution. Only the
/// caller's templates and their instances appear; for a caller limited to some
/// templates, the request counters are summed over those templates' instances.
#[utoipa::path(get, path = "/gateway/stats", tag = "gateway",
    responses((status = 200, description = "`total_requests`, `active_connections`, `templates`, `load_balancer`, `health_checker`, `response_time_ms`, `error_rate`")))]
pub(crate) async fn stats(State(state): State<AppState>, audience: Audience) -> Json<Value> {
    let table = state.registry.snapshot();
    let visible: Vec<&Arc<TemplateRoute>> = table
        .templates
        .values()
        .filter(|t| audience.sees_template(t.name.as_str()))
        .collect();
    let instances = || visible.iter().flat_map(|t| t.instances.iter());
    let (requests, errors) = if audience.is_limited() {
        (
            instances().map(|h| load(&h.stats.requests)).sum(),
            instances().map(|h| load(&h.stats.errors)).sum(),
        )
    } else {
        (
            state.stats.requests.load(Ordering::Relaxed),
            state.stats.errors.load(Ordering::Relaxed),
        )
    };
    let mut per_instance = BTreeMap::new();
    let mut active = BTreeMap::new();
    let mut errors_per_instance = BTreeMap::new();
    let mut latency = BTreeMap::new();
    for h in instances() {
        let id = h.instance.id.to_string();
        let n = load(&h.stats.requests);
        per_instance.insert(id.clone(), n);
        active.insert(id.clone(), h.counter.get());
        errors_per_instance.insert(id.clone(), load(&h.stats.errors));
        latency.insert(id, average_ms(load(&h.stats.latency_micros_total), n));
    }
    let templates: BTreeMap<String, Value> = visible
        .iter()
        .map(|t| {
            (
                t.name.to_string(),
                json!({
                    "total_instances": t.instances.len(),
                    "healthy_instances": t.healthy_count(),
                    "load_balancer_strategy": t.settings.strategy().as_str(),
                }),
            )
        })
        .collect();
    let calls = instances().map(|h| load(&h.stats.requests)).sum();
    let latency_total = instances()
        .map(|h| load(&h.stats.latency_micros_total))
        .sum();
    Json(json!({
        "total_requests": requests,
        "failed_requests": errors,
        "error_rate": if requests == 0 { 0.0 } else { errors as f64 / requests as f64 },
        "active_connections": active.values().sum::<usize>(),
        "response_time_ms": { "average": average_ms(latency_total, calls), "per_instance": latency },
        "templates": templates,
        "load_balancer": {
            "requests_per_instance": per_instance,
            "active_connections": active,
            "errors_per_instance": errors_per_instance,
        },
        "health_checker": health_checker(&state, &visible),
        "uptime": state.stats.started.elapsed().as_secs_f64(),
        // These counters are this replica's: a fleet's totals are the sum over replicas.
        "replica": {
            "id": state.fleet.replica_id,
            "change_version": state.fleet.feed.version.load(Ordering::Relaxed),
            "change_wake": state.fleet.feed.wake_source(),
            "redis": state.fleet.redis.as_ref().map(|r| if r.is_up() { "healthy" } else { "unreachable" }),
            "advertise_url": state.mcp.hop.me.url,
            "forwarded": state.mcp.hop.counts.to_json(),
        },
    }))
}

/// The `health_checker` section: counters, the latest check, and the state of each
/// instance of `templates`.
fn health_checker(state: &AppState, templates: &[&Arc<TemplateRoute>]) -> Value {
    let board = state.registry.board();
    let counters = board.counters();
    let mut instances = BTreeMap::new();
    let mut latest: Option<std::time::SystemTime> = None;
    for h in templates.iter().flat_map(|t| t.instances.iter()) {
        let s = h.health.snapshot();
        if let Some(c) = &s.last_check {
            latest = latest.max(Some(c.at));
        }
        instances.insert(
            h.instance.id.to_string(),
            json!({
                "status": h.status().as_str(),
                "circuit": s.circuit.as_str(),
                "score": s.score.get(),
                "ejections": s.ejections,
                "last_check": s.last_check.as_ref().map(|c| rfc3339(system_ms(c.at))),
                "last_check_ok": s.last_check.as_ref().map(|c| c.ok),
                "last_error": s.last_check.as_ref().and_then(|c| c.error.clone()),
                "restarts": s.link.map(|l| l.restarts),
            }),
        );
    }
    json!({
        "running": true,
        "check_interval": templates.first().map(|t| t.settings.health_check_interval().as_secs()),
        "last_check": latest.map(|t| rfc3339(system_ms(t))),
        "checks_total": counters.checks.load(Ordering::Relaxed),
        "check_failures_total": counters.check_failures.load(Ordering::Relaxed),
        "transitions_total": counters.transitions.load(Ordering::Relaxed),
        "circuit_openings_total": counters.circuit_openings.load(Ordering::Relaxed),
        "link_restarts_total": counters.link_restarts.load(Ordering::Relaxed),
        "instances": instances,
    })
}

fn average_ms(total_micros: u64, count: u64) -> f64 {
    if count == 0 {
        0.0
    } else {
        (total_micros as f64 / count as f64 / 1000.0 * 1000.0).round() / 1000.0
    }
}
