//! Sends one MCP request for a template: picks candidates from the balancer, calls the
//! upstream, records the outcome, and tries the next candidate only when that is safe
//! (idempotent methods, or a request that provably never left the gateway).

use std::{sync::Arc, time::Instant};

use gateway_core::{
    HealthStatus,
    jsonrpc::{Outcome, Request, RequestId},
    mcp::Method,
};
use gateway_transport::CallOptions;
use serde_json::value::RawValue;

use crate::{
    error::ApiError,
    registry::{InstanceHandle, TemplateRoute},
    state::AppState,
};

/// A successful result and the instance that produced it.
pub(crate) struct Relayed {
    pub(crate) result: Box<RawValue>,
    pub(crate) instance: Arc<InstanceHandle>,
}

/// Calls `method` on some instance of `template`.
pub(crate) async fn call(
    state: &AppState,
    template: &str,
    method: &str,
    params: Option<Box<RawValue>>,
) -> Result<Relayed, ApiError> {
    let table = state.registry.snapshot();
    let route = table
        .get(template)
        .ok_or_else(|| ApiError::TemplateNotFound(template.to_owned()))?;
    if route.instances.is_empty() {
        return Err(ApiError::NoInstances(template.to_owned()));
    }
    state
        .stats
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let result = call_route(state, route, template, method, params).await;
    if result.is_err() {
        state
            .stats
            .errors
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    result
}

async fn call_route(
    state: &AppState,
    route: &TemplateRoute,
    template: &str,
    method: &str,
    params: Option<Box<RawValue>>,
) -> Result<Relayed, ApiError> {
    let idempotent = Method::parse(method).is_idempotent();
    let attempts = 1 + usize::try_from(route.settings.max_retries()).unwrap_or(0);
    let mut last = None;
    for endpoint in route.balancer.select().take(attempts) {
        match call_on(state, route, endpoint.value(), method, params.clone()).await {
            Err(Failure::Transport(e)) => {
                let retry = idempotent || e.is_unsent();
                tracing::warn!(%template, instance = %endpoint.id(), error = %e, retry, "upstream call failed");
                last = Some(e);
                if !retry {
                    break;
                }
            }
            Err(Failure::Api(e)) => return Err(e),
            Ok(result) => {
                return Ok(Relayed {
                    result,
                    instance: endpoint.value().clone(),
                });
            }
        }
    }
    Err(match last {
        Some(e) if e.is_timeout() => ApiError::Timeout {
            template: template.to_owned(),
        },
        Some(e) => ApiError::Unavailable {
            template: template.to_owned(),
            reason: e.to_string(),
        },
        None => ApiError::NoInstances(template.to_owned()),
    })
}

/// Why one attempt failed.
pub(crate) enum Failure {
    /// The upstream could not be reached or did not answer: another instance may.
    Transport(gateway_transport::Error),
    /// The upstream answered with an error: final.
    Api(ApiError),
}

/// Calls `method` on one given instance (pagination stays on the instance that issued
/// the cursor).
pub(crate) async fn call_on(
    _state: &AppState,
    route: &TemplateRoute,
    handle: &InstanceHandle,
    method: &str,
    params: Option<Box<RawValue>>,
) -> Result<Box<RawValue>, Failure> {
    let _in_flight = handle.counter.enter();
    let started = Instant::now();
    let request = Request::new(RequestId::Number(0), method, params);
    let options = CallOptions {
        timeout: Some(route.settings.request_timeout()),
        ..CallOptions::default()
    };
    let outcome = handle.upstream.call(request, options).await;
    let elapsed = started.elapsed();
    match outcome {
        Ok(response) => {
            handle.stats.record(true, elapsed);
            handle.stats.set_status(HealthStatus::Healthy);
            match response.outcome {
                Outcome::Result(raw) => Ok(raw),
                Outcome::Error(raw) => {
                    let error: serde_json::Value =
                        serde_json::from_str(raw.get()).unwrap_or_default();
                    Err(Failure::Api(ApiError::Rpc {
                        code: error["code"]
                            .as_i64()
                            .and_then(|c| i32::try_from(c).ok())
                            .unwrap_or(0),
                        message: error["message"]
                            .as_str()
                            .unwrap_or("upstream error")
                            .chars()
                            .take(500)
                            .collect(),
                        error,
                    }))
                }
            }
        }
        Err(e) => {
            handle.stats.record(false, elapsed);
            if e.is_instance_failure() {
                handle.stats.set_status(HealthStatus::Unhealthy);
            }
            Err(Failure::Transport(e))
        }
    }
}
