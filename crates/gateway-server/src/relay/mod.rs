//! [`Relay`]: the one way a request reaches an upstream, whoever asks (the REST facade,
//! the MCP endpoints of both eras, the aggregated `/mcp`, the HTTP+SSE transport,
//! dedicated sessions).
//!
//! `call(target, call, options)` takes a [`Target`] (a template's pool, one instance of
//! it, or a session's own upstream) and a [`Call`] (the method, parsed once where the
//! request came in, and the raw params), and returns the upstream's answer (a result or
//! its JSON-RPC error, raw) with the instance that gave it, or a [`RelayError`]. On the
//! way, in order:
//!
//! 1. `Template`: the routing snapshot (lock-free) gives the route; its balancer gives
//!    candidates, the strategy's choice first ([`retry`]). The template's
//!    `upstream_auth` and the caller decide the call's `Authorization`, once for every
//!    try ([`credentials`]): a caller without usable credentials gets no attempt.
//! 2. Each candidate's breaker is asked; the attempt runs within what is left of the
//!    template's request timeout ([`attempt`]): counted in flight, timed, reported to
//!    the instance's health and counters, traced (span `upstream`).
//! 3. A failed attempt moves to the next candidate only when that is safe (an
//!    idempotent method, or a request that provably never left), within `max_retries`
//!    and the retry budget (20% of first attempts, plus a reserve).
//! 4. No answer: 504 if the deadline struck last, 502 if a request broke at an
//!    upstream, else 503 ([`RelayError`]).
//!
//! Dropping the returned future cancels the upstream call (the transport tells the
//! upstream with `notifications/cancelled`). [`Relay::list_all`] drains a list's pages
//! from the instance that served the first one ([`pages`]).

mod attempt;
mod credentials;
mod error;
mod pages;
mod retry;
mod stats;
mod target;
#[cfg(test)]
mod tests;

use std::sync::{Arc, atomic::Ordering};

use gateway_auth::Principal;
use gateway_core::{
    jsonrpc::{Notification, Outcome},
    mcp::Method,
};
use gateway_health::RetryBudget;
use tokio::{sync::mpsc, time::Instant};

pub(crate) use credentials::{CredentialError, Credentials};
pub(crate) use error::RelayError;
pub(crate) use pages::ListError;
pub(crate) use stats::GatewayStats;
pub(crate) use target::{Call, Pinned, Target};

use crate::{
    metrics::{Interface, server_outcome},
    registry::{InstanceHandle, Routing, RoutingTable},
};

/// The relay: routing snapshot, retry budget and counters behind one `Arc`. A clone is
/// one reference-count increment.
#[derive(Clone)]
pub(crate) struct Relay(Arc<Inner>);

struct Inner {
    routing: Routing,
    /// Retries may add at most 20% load (plus a small reserve).
    budget: RetryBudget,
    stats: Arc<GatewayStats>,
    credentials: Credentials,
}

/// Per-call options.
#[derive(Default)]
pub(crate) struct Options {
    /// Receives the call's `notifications/progress` (with the caller's own token), when
    /// its params carry a progress token.
    pub(crate) progress: Option<mpsc::Sender<Notification>>,
    /// Who is calling (`None` with authentication off): what `passthrough` forwards and
    /// `token_exchange` exchanges.
    pub(crate) caller: Option<Arc<Principal>>,
    /// Where the request came in (the `interface` label of its metrics).
    pub(crate) interface: Interface,
}

/// An upstream's answer (a result, or its JSON-RPC error, raw) and the instance that
/// gave it.
pub(crate) struct Relayed {
    pub(crate) outcome: Outcome,
    pub(crate) instance: Arc<InstanceHandle>,
}

impl Relay {
    pub(crate) fn new(
        routing: Routing,
        budget: RetryBudget,
        stats: Arc<GatewayStats>,
        credentials: Credentials,
    ) -> Self {
        Self(Arc::new(Inner {
            routing,
            budget,
            stats,
            credentials,
        }))
    }

    /// The `Authorization` of a call to `route` by `caller` (see [`credentials`]).
    async fn authorization(
        &self,
        route: &crate::registry::TemplateRoute,
        caller: Option<&Principal>,
    ) -> Result<Option<http::HeaderValue>, RelayError> {
        self.0
            .credentials
            .authorization(route.name.as_str(), route.settings.upstream_auth(), caller)
            .await
            .inspect_err(|cause| {
                if !cause.is_caller_error() {
                    tracing::warn!(template = %route.name, error = %cause, "upstream credentials unavailable");
                }
            })
            .map_err(|cause| RelayError::Credentials {
                template: route.name.as_str().into(),
                cause,
            })
    }

    /// The retry budget (its counters are metrics).
    pub(crate) fn budget(&self) -> &RetryBudget {
        &self.0.budget
    }

    /// The current routing snapshot (templates, instances, balancers).
    pub(crate) fn routes(&self) -> Arc<RoutingTable> {
        self.0.routing.load_full()
    }

    /// Sends `call` to `target` and returns the upstream's answer (see the module docs).
    pub(crate) async fn call(
        &self,
        target: Target<'_>,
        call: Call,
        options: Options,
    ) -> Result<Relayed, RelayError> {
        let inner = &*self.0;
        let started = Instant::now();
        let interface = options.interface;
        let (template, result) = match target {
            Target::Template(name) => {
                let table = inner.routing.load_full();
                let route = table
                    .get(name)
                    .ok_or_else(|| RelayError::TemplateNotFound(name.into()))?;
                if route.instances.is_empty() {
                    return Err(RelayError::NoInstances(name.into()));
                }
                inner.stats.requests.fetch_add(1, Ordering::Relaxed);
                let result = match self.authorization(route, options.caller.as_deref()).await {
                    Ok(authorization) => {
                        inner.budget.deposit();
                        retry::across_candidates(
                            &inner.budget,
                            route,
                            &call,
                            options,
                            authorization.as_ref(),
                        )
                        .await
                    }
                    Err(e) => Err(e),
                };
                (name, result)
            }
            Target::Instance(route, handle) => {
                let authorization = self.authorization(route, options.caller.as_deref()).await?;
                let timeout = route.settings.request_timeout();
                let once = attempt::Attempt::once(route.name.as_str(), handle, timeout);
                return once
                    .run(&handle.upstream, &call, options, authorization.as_ref())
                    .await;
            }
            Target::Pinned(pinned) => {
                inner.stats.requests.fetch_add(1, Ordering::Relaxed);
                let table = inner.routing.load_full();
                // A session outliving its template's removal goes on without per-user
                // credentials (nothing can be decided for it any more).
                let authorization = match table.get(&pinned.template) {
                    Some(route) => self.authorization(route, options.caller.as_deref()).await,
                    None => Ok(None),
                };
                let result = match authorization {
                    Ok(authorization) => {
                        let once = attempt::Attempt::once(
                            &pinned.template,
                            &pinned.handle,
                            pinned.timeout,
                        );
                        once.run(&pinned.upstream, &call, options, authorization.as_ref())
                            .await
                    }
                    Err(e) => Err(e),
                };
                (&*pinned.template, result)
            }
        };
        if result.is_err() {
            inner.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        // The SERVER span's `error.type` (a level check when not traced).
        if tracing::level_enabled!(tracing::Level::DEBUG) {
            let span = tracing::Span::current();
            match &result {
                Ok(relayed) => crate::trace::record_outcome(&span, &relayed.outcome),
                Err(e) => crate::trace::record_failure(&span, e.class()),
            }
        }
        if inner.stats.metrics {
            record(
                &inner.stats,
                template,
                &call.method,
                interface,
                started,
                &result,
            );
        }
        let instance = result
            .as_ref()
            .ok()
            .map(|r| r.instance.instance.id.as_str());
        crate::request_log::relayed(template, instance, &call.method);
        result
    }
}

/// Times a relayed call under its labels: the same calls as `GatewayStats::requests`,
/// so `/metrics` and `/gateway/stats` agree.
fn record(
    stats: &GatewayStats,
    template: &str,
    method: &Method,
    interface: Interface,
    started: Instant,
    result: &Result<Relayed, RelayError>,
) {
    let outcome = match result {
        Ok(Relayed {
            outcome: Outcome::Result(_),
            ..
        }) => 0,
        Ok(_) => server_outcome("jsonrpc_error"),
        Err(e) => server_outcome(e.class()),
    };
    stats
        .ops
        .record(template, method, interface, outcome, started.elapsed());
}
