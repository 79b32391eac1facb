//! Sends one MCP request for a template: picks candidates from the balancer (only
//! instances fit for traffic), asks each instance's circuit breaker, calls the upstream
//! within the request's overall deadline, reports the outcome to health, and tries the
//! next candidate only when that is safe (idempotent methods, or a request that provably
//! never reached the upstream) and the retry budget allows.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use gateway_core::{
    jsonrpc::{Outcome as RpcOutcome, Request, RequestId},
    mcp::Method,
};
use gateway_health::Outcome;
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

/// Why one attempt failed.
pub(crate) enum Failure {
    /// The upstream could not be reached or did not answer: another instance may.
    Transport(gateway_transport::Error),
    /// The upstream answered with an error: final.
    Api(ApiError),
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
    state.stats.requests.fetch_add(1, Ordering::Relaxed);
    state.retry_budget.deposit();
    let result = call_route(state, route, template, method, params).await;
    if result.is_err() {
        state.stats.errors.fetch_add(1, Ordering::Relaxed);
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
    let deadline = Instant::now() + route.settings.request_timeout();
    let max_attempts = 1 + usize::try_from(route.settings.max_retries()).unwrap_or(0);
    let candidates = route.balancer.select();
    let remaining_candidates = candidates.len();
    let mut attempts = 0;
    let mut last = None;
    for (i, endpoint) in candidates.enumerate() {
        let handle = endpoint.value();
        if attempts == max_attempts {
            break;
        }
        if attempts > 0 && !state.retry_budget.try_withdraw() {
            tracing::warn!(%template, "retry budget exhausted; not retrying");
            break;
        }
        let Some(left) = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        else {
            break;
        };
        if !handle.health.try_acquire() {
            // Circuit open or half-open trials taken: the request never goes there.
            continue;
        }
        attempts += 1;
        // With other instances to try, a restarting stdio child fails fast instead of
        // holding the request.
        let others_left = i + 1 < remaining_candidates;
        let ready_wait = if others_left { Duration::ZERO } else { left };
        match attempt(handle, method, params.clone(), left, ready_wait).await {
            Ok(result) => {
                return Ok(Relayed {
                    result,
                    instance: handle.clone(),
                });
            }
            Err(Failure::Api(e)) => return Err(e),
            Err(Failure::Transport(e)) => {
                let retry = idempotent || e.is_unsent();
                tracing::warn!(%template, instance = %endpoint.id(), error = %e, retry, "upstream call failed");
                last = Some(e);
                if !retry {
                    break;
                }
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
        None => ApiError::Unavailable {
            template: template.to_owned(),
            reason: "every instance is unhealthy or ejected".to_owned(),
        },
    })
}

async fn attempt(
    handle: &InstanceHandle,
    method: &str,
    params: Option<Box<RawValue>>,
    timeout: Duration,
    ready_wait: Duration,
) -> Result<Box<RawValue>, Failure> {
    let options = CallOptions {
        timeout: Some(timeout),
        ready_timeout: Some(ready_wait),
        ..CallOptions::default()
    };
    call_on_with(handle, method, params, options).await
}

/// Calls `method` on one given instance (pagination stays on the instance that issued
/// the cursor).
pub(crate) async fn call_on(
    route: &TemplateRoute,
    handle: &InstanceHandle,
    method: &str,
    params: Option<Box<RawValue>>,
) -> Result<Box<RawValue>, Failure> {
    let options = CallOptions {
        timeout: Some(route.settings.request_timeout()),
        ..CallOptions::default()
    };
    call_on_with(handle, method, params, options).await
}

async fn call_on_with(
    handle: &InstanceHandle,
    method: &str,
    params: Option<Box<RawValue>>,
    options: CallOptions,
) -> Result<Box<RawValue>, Failure> {
    let _in_flight = handle.counter.enter();
    let started = Instant::now();
    let request = Request::new(RequestId::Number(0), method, params);
    let outcome = handle.upstream.call(request, options).await;
    let elapsed = started.elapsed();
    match outcome {
        Ok(response) => {
            handle.stats.record(true, elapsed);
            // Any answer, even a JSON-RPC error or `isError: true`, means the instance works.
            handle.health.report(Outcome::Success, elapsed);
            match response.outcome {
                RpcOutcome::Result(raw) => Ok(raw),
                RpcOutcome::Error(raw) => {
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
                handle.health.report(Outcome::Failure, elapsed);
            }
            Err(Failure::Transport(e))
        }
    }
}
