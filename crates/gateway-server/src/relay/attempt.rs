//! [`Attempt`]: one try of a call on one instance: counted in flight (the balancer's
//! least-connections input), timed, reported to the instance's health and counters,
//! and traced as an `upstream` span (the OpenTelemetry CLIENT span: template, instance,
//! method, attempt, outcome). The upstream gets the W3C trace context: this span's when
//! traces are exported, else the client's own (from its `traceparent` header), as
//! `params._meta.traceparent` on every transport and as headers over HTTP.

use std::{sync::Arc, time::Duration};

use gateway_core::jsonrpc::{Notification, Outcome, RequestId};
use gateway_health::Outcome as Health;
use gateway_transport::{CallOptions, Error as TransportError, Upstream};
use http::HeaderValue;
use tokio::{sync::mpsc, time::Instant};
use tracing::Instrument as _;

use super::{Call, Options, RelayError, Relayed};
use crate::{metrics::client_outcome, registry::InstanceHandle};

/// One try on one instance.
pub(super) struct Attempt<'a> {
    pub(super) template: &'a str,
    pub(super) handle: &'a Arc<InstanceHandle>,
    /// 1 for the first try of a call.
    pub(super) number: u32,
    /// What is left of the call's deadline.
    pub(super) timeout: Duration,
    /// How long a restarting stdio or SSE link may be waited for (`None`: the connect
    /// timeout; zero: fail at once, unsent, when other candidates are left).
    pub(super) ready_wait: Option<Duration>,
}

impl<'a> Attempt<'a> {
    /// The only try of a call that has one target.
    pub(super) fn once(
        template: &'a str,
        handle: &'a Arc<InstanceHandle>,
        timeout: Duration,
    ) -> Self {
        Self {
            template,
            handle,
            number: 1,
            timeout,
            ready_wait: None,
        }
    }

    /// Runs a single-try call: a transport failure is the call's error. `gated`: the
    /// call takes a slot of the instance's admission gate (waiting in line within its
    /// timeout); a dedicated stdio child, the session's own process, is not gated.
    pub(super) async fn run(
        self,
        upstream: &Upstream,
        call: &Call,
        options: Options,
        authorization: Option<&HeaderValue>,
    ) -> Result<Relayed, RelayError> {
        let gated = upstream.transport() != gateway_core::Transport::Stdio
            || self.handle.upstream.same_connection(upstream);
        let _admitted = if gated {
            let deadline = Instant::now() + self.timeout;
            Some(
                self.handle
                    .gate
                    .admit(Some(deadline))
                    .await
                    .map_err(|refusal| RelayError::overloaded(self.template, refusal))?,
            )
        } else {
            None
        };
        match self
            .send(upstream, call, options.progress, authorization)
            .await
        {
            Ok(outcome) => Ok(Relayed {
                outcome,
                instance: self.handle.clone(),
            }),
            Err(e) => Err(RelayError::from_transport(self.template, e)),
        }
    }

    /// Sends the call over `upstream` (the instance's pooled connection, or a session's
    /// own) and reports how it went. Any answer, a JSON-RPC error included, means the
    /// instance works. `authorization` is the call's per-user credential, if any.
    pub(super) async fn send(
        &self,
        upstream: &Upstream,
        call: &Call,
        progress: Option<mpsc::Sender<Notification>>,
        authorization: Option<&HeaderValue>,
    ) -> Result<Outcome, TransportError> {
        let handle = self.handle;
        let span = crate::trace::client_span(
            &call.method,
            call.params.as_deref(),
            self.template,
            handle.instance.id.as_str(),
            upstream,
            self.number,
        );
        // This attempt's context when exported, else the client's (none: no rewrite).
        #[cfg(feature = "otel")]
        let trace = crate::otel::context_of(&span).or_else(crate::request_id::client_trace);
        #[cfg(not(feature = "otel"))]
        let trace = crate::request_id::client_trace();
        let traced_params = trace
            .as_ref()
            .and_then(|t| crate::trace::with_trace_meta(call.params.as_deref(), t));
        let _in_flight = handle.counter.enter();
        let started = Instant::now();
        let options = CallOptions {
            timeout: Some(self.timeout),
            ready_timeout: self.ready_wait,
            progress,
            authorization: authorization.cloned(),
            trace,
        };
        // Borrowed: a retry sends the same params, and HTTP encodes them without a copy.
        let result = upstream
            .call_parts(
                &RequestId::Number(0),
                call.method.as_str(),
                traced_params.as_deref().or(call.params.as_deref()),
                options,
            )
            .instrument(span.clone())
            .await;
        let elapsed = started.elapsed();
        let method = &call.method;
        match result {
            Ok(response) => {
                handle.stats.record(true, elapsed);
                let outcome = match &response.outcome {
                    Outcome::Result(_) => 0,
                    Outcome::Error(_) => client_outcome("jsonrpc_error"),
                };
                handle.ops.record(method, outcome, elapsed);
                handle.health.report(Health::Success, elapsed);
                let answered = match response.outcome {
                    Outcome::Result(_) => "ok",
                    Outcome::Error(_) => "rpc_error",
                };
                span.record("outcome", answered);
                crate::trace::record_outcome(&span, &response.outcome);
                Ok(response.outcome)
            }
            Err(e) => {
                handle.stats.record(false, elapsed);
                handle
                    .ops
                    .record(method, client_outcome(e.class()), elapsed);
                if e.is_instance_failure() {
                    handle.health.report(Health::Failure, elapsed);
                }
                span.record("outcome", "error");
                span.record("error.type", e.class());
                span.record("otel.status_code", "error");
                Err(e)
            }
        }
    }
}
