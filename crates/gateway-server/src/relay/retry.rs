//! The candidates loop of a `Template` call: each candidate's admission gate
//! (`upstream_limits`) and breaker, the deadline,
//! the retry rule (idempotent methods, or requests that provably never left), the
//! `max_retries` cap and the retry budget, and the 502/503/504 choice when no attempt
//! got an answer.

use tokio::time::Instant;

use super::{Call, Options, RelayError, Relayed, attempt::Attempt};
use crate::registry::TemplateRoute;
use gateway_health::RetryBudget;
use gateway_transport::Error as TransportError;

/// Tries the route's candidates in the balancer's order until one answers or trying
/// again would be unsafe, useless or over budget.
pub(super) async fn across_candidates(
    budget: &RetryBudget,
    route: &TemplateRoute,
    call: &Call,
    options: Options,
    authorization: Option<&http::HeaderValue>,
) -> Result<Relayed, RelayError> {
    let template = route.name.as_str();
    let idempotent = call.method.is_idempotent();
    let deadline = Instant::now() + route.settings.request_timeout();
    let max_attempts = route.settings.max_retries().saturating_add(1);
    let candidates = route.balancer.select();
    let count = candidates.len();
    let mut verdict = Verdict::default();
    let mut attempts = 0u32;
    for (i, endpoint) in candidates.enumerate() {
        let handle = endpoint.value();
        if attempts == max_attempts {
            break;
        }
        if attempts > 0 && !budget.try_withdraw() {
            tracing::warn!(%template, "retry budget exhausted; not retrying");
            break;
        }
        let Some(left) = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        else {
            break;
        };
        // With other instances to try, a full instance or a restarting stdio child is
        // passed over at once instead of holding the request.
        let others_left = i + 1 < count;
        // Admission before the breaker: a half-open trial slot is never taken by a
        // request that then could not go.
        let _admitted = match handle.gate.admit((!others_left).then_some(deadline)).await {
            Ok(admitted) => admitted,
            Err(refusal) => {
                verdict.refused = Some(refusal);
                continue;
            }
        };
        if !handle.health.try_acquire() {
            // Circuit open or half-open trials taken: the request never goes there.
            continue;
        }
        attempts += 1;
        let attempt = Attempt {
            template,
            handle,
            number: attempts,
            timeout: left,
            ready_wait: Some(if others_left {
                std::time::Duration::ZERO
            } else {
                left
            }),
        };
        // Every try but the last may need the sender again.
        let progress = options.progress.clone();
        match attempt
            .send(&handle.upstream, call, progress, authorization)
            .await
        {
            Ok(outcome) => {
                return Ok(Relayed {
                    outcome,
                    instance: handle.clone(),
                });
            }
            Err(e) => {
                let retry = idempotent || e.is_unsent();
                tracing::warn!(%template, instance = %endpoint.id(), error = %e.report(), retry, "upstream call failed");
                verdict.add(e);
                if !retry {
                    break;
                }
            }
        }
    }
    Err(verdict.into_error(template))
}

/// The latest failure of each kind: together they choose 504, 502 or 503.
#[derive(Default)]
struct Verdict {
    timed_out: Option<TransportError>,
    broke: Option<TransportError>,
    unsent: Option<TransportError>,
    last_timed_out: bool,
    /// The last admission refusal (an instance at its `upstream_limits`).
    refused: Option<gateway_health::Refusal>,
}

impl Verdict {
    fn add(&mut self, e: TransportError) {
        self.last_timed_out = e.is_timeout();
        let slot = if e.is_timeout() {
            &mut self.timed_out
        } else if e.is_unsent() {
            &mut self.unsent
        } else {
            &mut self.broke
        };
        *slot = Some(e);
    }

    /// A final timeout wins (the deadline is spent); else an upstream that broke
    /// mid-call is 502; else 503 (nothing was sent, or nothing could be tried).
    fn into_error(self, template: &str) -> RelayError {
        let decisive = match (self.timed_out, self.broke, self.unsent) {
            (Some(t), _, _) if self.last_timed_out => Some(t),
            (_, Some(b), _) => Some(b),
            (t, None, u) => t.or(u),
        };
        match (decisive, self.refused) {
            (Some(e), _) => RelayError::from_transport(template, e),
            (None, Some(refusal)) => RelayError::overloaded(template, refusal),
            (None, None) => RelayError::Unavailable {
                template: template.into(),
                cause: None,
            },
        }
    }
}
