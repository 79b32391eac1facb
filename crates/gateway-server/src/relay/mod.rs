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
    jsonrpc::{Notification, Outcome as RpcOutcome, Request, RequestId, to_raw},
    mcp::{Method, RawObject},
};
use gateway_health::Outcome;
use gateway_transport::CallOptions;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

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

/// An upstream's answer (result or JSON-RPC error, raw) and the instance that gave it.
pub(crate) struct Forwarded {
    pub(crate) outcome: RpcOutcome,
    pub(crate) instance: Arc<InstanceHandle>,
}

/// Why one attempt failed.
pub(crate) enum Failure {
    /// The upstream could not be reached or did not answer: another instance may.
    Transport(gateway_transport::Error),
    /// The upstream answered with an error: final.
    Api(ApiError),
}

/// Calls `method` on some instance of `template`; an upstream JSON-RPC error becomes
/// [`ApiError::Rpc`].
pub(crate) async fn call(
    state: &AppState,
    template: &str,
    method: &str,
    params: Option<Box<RawValue>>,
) -> Result<Relayed, ApiError> {
    let forwarded = forward(state, template, method, params, None).await?;
    match forwarded.outcome {
        RpcOutcome::Result(result) => Ok(Relayed {
            result,
            instance: forwarded.instance,
        }),
        RpcOutcome::Error(raw) => Err(rpc_error(&raw)),
    }
}

/// Sends `method` to some instance of `template` and returns the upstream's answer as
/// is (the MCP endpoint passes JSON-RPC errors through). `progress` receives the call's
/// `notifications/progress` when the params carry a progress token.
pub(crate) async fn forward(
    state: &AppState,
    template: &str,
    method: &str,
    params: Option<Box<RawValue>>,
    progress: Option<mpsc::Sender<Notification>>,
) -> Result<Forwarded, ApiError> {
    let table = state.registry.snapshot();
    let route = table
        .get(template)
        .ok_or_else(|| ApiError::TemplateNotFound(template.to_owned()))?;
    if route.instances.is_empty() {
        return Err(ApiError::NoInstances(template.to_owned()));
    }
    state.stats.requests.fetch_add(1, Ordering::Relaxed);
    state.retry_budget.deposit();
    let result = call_route(state, route, template, method, params, progress).await;
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
    progress: Option<mpsc::Sender<Notification>>,
) -> Result<Forwarded, ApiError> {
    let idempotent = Method::parse(method).is_idempotent();
    let deadline = Instant::now() + route.settings.request_timeout();
    let max_attempts = 1 + usize::try_from(route.settings.max_retries()).unwrap_or(0);
    let candidates = route.balancer.select();
    let remaining_candidates = candidates.len();
    let mut attempts = 0;
    // The latest failure of each kind: together they choose 504, 502 or 503.
    let mut timed_out: Option<gateway_transport::Error> = None;
    let mut broke: Option<gateway_transport::Error> = None;
    let mut unsent: Option<gateway_transport::Error> = None;
    let mut last_timed_out = false;
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
        let options = CallOptions {
            timeout: Some(left),
            ready_timeout: Some(ready_wait),
            progress: progress.clone(),
        };
        match call_on_with(handle, method, params.clone(), options).await {
            Ok(outcome) => {
                return Ok(Forwarded {
                    outcome,
                    instance: handle.clone(),
                });
            }
            Err(Failure::Api(e)) => return Err(e),
            Err(Failure::Transport(e)) => {
                let retry = idempotent || e.is_unsent();
                tracing::warn!(%template, instance = %endpoint.id(), error = %e, retry, "upstream call failed");
                last_timed_out = e.is_timeout();
                let slot = if e.is_timeout() {
                    &mut timed_out
                } else if e.is_unsent() {
                    &mut unsent
                } else {
                    &mut broke
                };
                *slot = Some(e);
                if !retry {
                    break;
                }
            }
        }
    }
    // A final timeout wins (the deadline is spent); else an upstream that broke mid-call
    // is 502; else 503 (nothing was sent, or nothing could be tried).
    let decisive = match (timed_out, broke, unsent) {
        (Some(t), _, _) if last_timed_out => Some(t),
        (_, Some(b), _) => Some(b),
        (t, None, u) => t.or(u),
    };
    Err(match decisive {
        Some(e) => transport_error(template, &e),
        None => ApiError::Unavailable {
            template: template.to_owned(),
            reason: "every instance is unhealthy, ejected or circuit-open".to_owned(),
        },
    })
}

/// A transport failure as the client sees it: 504 when the upstream did not answer in
/// time, 503 when the request never left the gateway (another try may succeed), 502
/// when it reached the upstream and the call broke there.
pub(crate) fn transport_error(template: &str, e: &gateway_transport::Error) -> ApiError {
    if e.is_timeout() {
        ApiError::Timeout {
            template: template.to_owned(),
        }
    } else if e.is_unsent() {
        ApiError::Unavailable {
            template: template.to_owned(),
            reason: e.to_string(),
        }
    } else {
        ApiError::UpstreamFailed {
            template: template.to_owned(),
            reason: e.to_string(),
        }
    }
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
    match call_on_with(handle, method, params, options).await? {
        RpcOutcome::Result(raw) => Ok(raw),
        RpcOutcome::Error(raw) => Err(Failure::Api(rpc_error(&raw))),
    }
}

async fn call_on_with(
    handle: &InstanceHandle,
    method: &str,
    params: Option<Box<RawValue>>,
    options: CallOptions,
) -> Result<RpcOutcome, Failure> {
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
            Ok(response.outcome)
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

/// An upstream JSON-RPC error object as an [`ApiError`] (the REST facade's view).
fn rpc_error(raw: &RawValue) -> ApiError {
    let error: serde_json::Value = serde_json::from_str(raw.get()).unwrap_or_default();
    ApiError::Rpc {
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
    }
}

/// Upper bound on pages drained for one listing (a loop guard against broken cursors).
const MAX_PAGES: usize = 1000;

/// Every item of a list method (`key`: `tools`, `prompts`, ...), all pages drained from
/// the instance that served the first page, items raw.
pub(crate) async fn list_all(
    state: &AppState,
    template: &str,
    method: &str,
    key: &str,
) -> Result<Vec<Box<RawValue>>, ApiError> {
    let first = call(state, template, method, None).await?;
    let mut items = Vec::new();
    let mut next = read_page(&first.result, key, &mut items)?;
    let table = state.registry.snapshot();
    let route = table
        .get(template)
        .ok_or_else(|| ApiError::TemplateNotFound(template.to_owned()))?;
    let mut pages = 1;
    while let Some(cursor) = next {
        if pages >= MAX_PAGES {
            tracing::warn!(
                template,
                method,
                "pagination stopped after {MAX_PAGES} pages"
            );
            break;
        }
        let params = to_raw(&serde_json::json!({ "cursor": cursor }));
        let page = match call_on(route, &first.instance, method, Some(params)).await {
            Ok(page) => page,
            Err(Failure::Api(e)) => return Err(e),
            Err(Failure::Transport(e)) => return Err(transport_error(template, &e)),
        };
        next = read_page(&page, key, &mut items)?;
        pages += 1;
    }
    Ok(items)
}

/// Appends the page's items (raw) and returns its `nextCursor`.
fn read_page(
    result: &RawValue,
    key: &str,
    items: &mut Vec<Box<RawValue>>,
) -> Result<Option<String>, ApiError> {
    let page = RawObject::parse(result)
        .map_err(|e| ApiError::BadUpstream(format!("list result is not an object: {e}")))?;
    if let Some(list) = page.get(key) {
        let mut parsed: Vec<Box<RawValue>> = serde_json::from_str(list.get())
            .map_err(|e| ApiError::BadUpstream(format!("`{key}` is not an array: {e}")))?;
        items.append(&mut parsed);
    }
    Ok(page.get("nextCursor").and_then(|c| {
        serde_json::from_str::<Option<String>>(c.get())
            .ok()
            .flatten()
    }))
}
