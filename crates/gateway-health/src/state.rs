//! [`InstanceHealth`]: one instance's health as a pure state machine, driven by probe
//! results, live-request outcomes and what a supervised transport reports about its
//! link, with explicit timestamps (so tests need no clock).
//!
//! How a transport-reported link maps (stdio children, legacy SSE streams):
//! - **down** (the child died and waits for its restart): not routable at once, with no
//!   threshold (the transport knows; probes would only find out an interval or two
//!   later). It [`awaits its restart`](InstanceHealth::awaits_restart): a template with
//!   nothing routable may still wait for it rather than fail.
//! - **crash loop**: the transport counts restarts in a row (its back-off doubles with
//!   each, and the streak ends once the link stays up). The `failure_threshold`-th
//!   restart in a row opens the circuit, so the loop is held out with the breaker's
//!   growing ejections and only comes back through half-open trials. A single crash
//!   does not count against the breaker: the calls it broke already did. A crash while
//!   half-open fails the trial.
//! - **back up**: a new process, treated like a newly started instance: status
//!   `Starting` (routable; the first passed probe makes it healthy), probe counters
//!   reset. The breaker keeps its state: an open circuit still needs its trials.

use std::time::{Duration, Instant};

use gateway_core::{HealthScore, HealthStatus};

use crate::HealthPolicy;

/// The circuit breaker's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    /// Traffic flows.
    Closed,
    /// Ejected until the instant; no traffic.
    Open {
        /// When the instance may be tried again.
        until: Instant,
    },
    /// A limited number of trial requests may pass.
    HalfOpen {
        /// Trials handed out so far.
        started: u32,
        /// Trials (or probes) that succeeded.
        succeeded: u32,
    },
}

impl Circuit {
    /// Where it stands, without its timing and counts.
    pub fn position(&self) -> CircuitPosition {
        match self {
            Circuit::Closed => CircuitPosition::Closed,
            Circuit::Open { .. } => CircuitPosition::Open,
            Circuit::HalfOpen { .. } => CircuitPosition::HalfOpen,
        }
    }

    /// `closed`, `open` or `half_open`.
    pub fn as_str(&self) -> &'static str {
        self.position().as_str()
    }
}

/// The circuit breaker's position as APIs, logs and counters show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CircuitPosition {
    /// Traffic flows.
    Closed,
    /// Ejected: no traffic.
    Open,
    /// Trial requests only.
    HalfOpen,
}

impl CircuitPosition {
    /// The wire name: `closed`, `open` or `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitPosition::Closed => "closed",
            CircuitPosition::Open => "open",
            CircuitPosition::HalfOpen => "half_open",
        }
    }
}

impl std::fmt::Display for CircuitPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the wire name (`snapshot.circuit == "open"`).
impl PartialEq<&str> for CircuitPosition {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Whether a live request succeeded as far as the instance's health is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The upstream answered (a JSON-RPC error or `isError: true` result counts as an
    /// answer: the instance is fine).
    Success,
    /// Transport error, timeout or 5xx.
    Failure,
}

/// What a supervised transport last reported about an instance's link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkHealth {
    /// Down and waiting for its restart.
    pub down: bool,
    /// Restarts seen since the instance was registered.
    pub restarts: u32,
    /// The latest restart's place in its streak (1 for the first since the link was
    /// stable); the transport doubles the back-off with each.
    pub attempt: u32,
    /// The latest restart's back-off.
    pub backoff: Duration,
}

/// A change worth logging and counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The probe status changed.
    Status {
        /// Before.
        from: HealthStatus,
        /// After.
        to: HealthStatus,
    },
    /// The circuit moved.
    Circuit {
        /// Before.
        from: CircuitPosition,
        /// After.
        to: CircuitPosition,
    },
    /// A supervised link went down (`up: false`, restarting) or came back.
    Link {
        /// Whether it is up now.
        up: bool,
        /// The restart attempt (when going down).
        attempt: u32,
    },
}

/// One instance's health.
#[derive(Debug, Clone)]
pub struct InstanceHealth {
    policy: HealthPolicy,
    status: HealthStatus,
    probe_failures: u32,
    probe_successes: u32,
    live_failures: u32,
    circuit: Circuit,
    ejections: u32,
    closed_since: Instant,
    success_ewma: f32,
    latency_ewma_ms: f32,
    /// `None` until a supervised transport reports (HTTP instances never do).
    link: Option<LinkHealth>,
}

/// Weight of the newest sample in the moving averages.
const ALPHA: f32 = 0.2;
/// Latency at which the latency factor of the score halves.
const LATENCY_HALF_SCORE_MS: f32 = 250.0;

impl InstanceHealth {
    /// A new instance: status `initial` (usually `Unknown`, `Starting` for stdio),
    /// circuit closed, perfect score.
    pub fn new(policy: HealthPolicy, initial: HealthStatus, now: Instant) -> Self {
        Self {
            policy,
            status: initial,
            probe_failures: 0,
            probe_successes: 0,
            live_failures: 0,
            circuit: Circuit::Closed,
            ejections: 0,
            closed_since: now,
            success_ewma: 1.0,
            latency_ewma_ms: 0.0,
            link: None,
        }
    }

    /// The probe-derived status.
    pub fn status(&self) -> HealthStatus {
        self.status
    }

    /// The circuit, as of `now` (an elapsed open period reads as half-open).
    pub fn circuit(&self, now: Instant) -> Circuit {
        match self.circuit {
            Circuit::Open { until } if now >= until => Circuit::HalfOpen {
                started: 0,
                succeeded: 0,
            },
            c => c,
        }
    }

    /// What the transport last reported about the link, for supervised instances.
    pub fn link(&self) -> Option<LinkHealth> {
        self.link
    }

    /// Times the circuit has opened since it was last stably closed.
    pub fn ejections(&self) -> u32 {
        self.ejections
    }

    /// Recent success ratio times a latency factor, in `0..=1`.
    pub fn score(&self) -> HealthScore {
        let latency_factor = 1.0 / (1.0 + self.latency_ewma_ms / LATENCY_HALF_SCORE_MS);
        HealthScore::new(self.success_ewma * latency_factor)
    }

    /// Smoothed latency of recent probes and requests.
    pub fn latency_ms(&self) -> f32 {
        self.latency_ewma_ms
    }

    /// Whether the balancer should offer this instance now: not failing its probes, its
    /// link not down, and the circuit not open.
    pub fn is_routable(&self, now: Instant) -> bool {
        self.status != HealthStatus::Unhealthy
            && !self.link.is_some_and(|l| l.down)
            && !matches!(self.circuit(now), Circuit::Open { .. })
    }

    /// Asks to send one live request now; in half-open state only a limited number of
    /// trials pass. Returns whether the request may go.
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        self.settle(now);
        match &mut self.circuit {
            Circuit::Closed => true,
            Circuit::Open { .. } => false,
            Circuit::HalfOpen { started, .. } => {
                if *started < self.policy.half_open_trials {
                    *started += 1;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Records a probe result.
    pub fn on_probe(&mut self, ok: bool, latency: Duration, now: Instant) -> Vec<Transition> {
        let mut changes = Vec::new();
        self.settle_into(now, &mut changes);
        self.sample(ok, latency);
        if ok {
            self.probe_failures = 0;
            self.probe_successes = self.probe_successes.saturating_add(1);
            let threshold_met = self.probe_successes >= self.policy.healthy_threshold;
            let from_unknown =
                matches!(self.status, HealthStatus::Unknown | HealthStatus::Starting);
            if self.status != HealthStatus::Healthy && (threshold_met || from_unknown) {
                self.set_status(HealthStatus::Healthy, &mut changes);
            }
            self.trial_success(now, &mut changes);
        } else {
            self.probe_successes = 0;
            self.probe_failures = self.probe_failures.saturating_add(1);
            if self.status != HealthStatus::Unhealthy
                && self.probe_failures >= self.policy.unhealthy_threshold
            {
                self.set_status(HealthStatus::Unhealthy, &mut changes);
            }
            if matches!(self.circuit, Circuit::HalfOpen { .. }) {
                self.open(now, &mut changes);
            }
        }
        changes
    }

    /// Records the outcome of a live request.
    pub fn on_request(
        &mut self,
        outcome: Outcome,
        latency: Duration,
        now: Instant,
    ) -> Vec<Transition> {
        let mut changes = Vec::new();
        self.settle_into(now, &mut changes);
        self.sample(outcome == Outcome::Success, latency);
        match outcome {
            Outcome::Success => {
                self.live_failures = 0;
                self.trial_success(now, &mut changes);
            }
            Outcome::Failure => self.live_failure(now, &mut changes),
        }
        changes
    }

    /// The transport reports the link down, waiting for restart `attempt` (in a row)
    /// after `backoff` (see the module docs for the mapping). A repeated report of the
    /// same attempt changes nothing.
    pub fn on_link_down(
        &mut self,
        attempt: u32,
        backoff: Duration,
        now: Instant,
    ) -> Vec<Transition> {
        let mut changes = Vec::new();
        let link = self.link.get_or_insert_with(LinkHealth::default);
        if link.down && link.attempt == attempt {
            return changes;
        }
        *link = LinkHealth {
            down: true,
            restarts: link.restarts.saturating_add(1),
            attempt,
            backoff,
        };
        changes.push(Transition::Link { up: false, attempt });
        self.settle_into(now, &mut changes);
        // No latency sample: there was no request to time.
        self.success_ewma *= 1.0 - ALPHA;
        let crash_loop = attempt >= self.policy.failure_threshold;
        match self.circuit {
            Circuit::Closed if crash_loop => self.open(now, &mut changes),
            Circuit::HalfOpen { .. } => self.open(now, &mut changes),
            _ => {}
        }
        changes
    }

    /// Held out only because its link is down and restarting: the probes have not
    /// failed it and its circuit is not open. Worth waiting for when nothing else can
    /// serve.
    pub fn awaits_restart(&self, now: Instant) -> bool {
        self.link.is_some_and(|l| l.down)
            && self.status != HealthStatus::Unhealthy
            && !matches!(self.circuit(now), Circuit::Open { .. })
    }

    /// The transport reports the link ready (first start or back after a restart).
    pub fn on_link_up(&mut self, now: Instant) -> Vec<Transition> {
        let mut changes = Vec::new();
        let link = self.link.get_or_insert_with(LinkHealth::default);
        if !link.down {
            // The first start: the initial status already waits for the first probe.
            return changes;
        }
        link.down = false;
        let attempt = link.attempt;
        changes.push(Transition::Link { up: true, attempt });
        self.settle_into(now, &mut changes);
        // A new process: trusted like a newly started instance, not like the old one.
        self.probe_failures = 0;
        self.probe_successes = 0;
        if self.status != HealthStatus::Starting {
            self.set_status(HealthStatus::Starting, &mut changes);
        }
        changes
    }

    fn live_failure(&mut self, now: Instant, changes: &mut Vec<Transition>) {
        self.live_failures = self.live_failures.saturating_add(1);
        let trip = match self.circuit {
            Circuit::Closed => self.live_failures >= self.policy.failure_threshold,
            Circuit::HalfOpen { .. } => true,
            Circuit::Open { .. } => false,
        };
        if trip {
            self.open(now, changes);
        }
    }

    fn sample(&mut self, ok: bool, latency: Duration) {
        let ok = if ok { 1.0 } else { 0.0 };
        self.success_ewma = ALPHA * ok + (1.0 - ALPHA) * self.success_ewma;
        let ms = latency.as_secs_f32() * 1000.0;
        self.latency_ewma_ms = if self.latency_ewma_ms == 0.0 {
            ms
        } else {
            ALPHA * ms + (1.0 - ALPHA) * self.latency_ewma_ms
        };
    }

    fn trial_success(&mut self, now: Instant, changes: &mut Vec<Transition>) {
        if let Circuit::HalfOpen { succeeded, .. } = &mut self.circuit {
            *succeeded += 1;
            if *succeeded >= self.policy.half_open_trials {
                self.live_failures = 0;
                self.closed_since = now;
                self.move_circuit(Circuit::Closed, changes);
            }
        }
    }

    fn open(&mut self, now: Instant, changes: &mut Vec<Transition>) {
        if matches!(self.circuit, Circuit::Closed)
            && now.saturating_duration_since(self.closed_since) > self.policy.open_max
        {
            self.ejections = 0;
        }
        self.ejections = self.ejections.saturating_add(1);
        let factor = 2u32.saturating_pow(self.ejections.saturating_sub(1).min(16));
        let period = self
            .policy
            .open_base
            .saturating_mul(factor)
            .min(self.policy.open_max);
        self.live_failures = 0;
        self.move_circuit(
            Circuit::Open {
                until: now + period,
            },
            changes,
        );
    }

    /// An elapsed open period becomes half-open.
    fn settle(&mut self, now: Instant) {
        let mut ignored = Vec::new();
        self.settle_into(now, &mut ignored);
    }

    fn settle_into(&mut self, now: Instant, changes: &mut Vec<Transition>) {
        if let Circuit::Open { until } = self.circuit
            && now >= until
        {
            self.move_circuit(
                Circuit::HalfOpen {
                    started: 0,
                    succeeded: 0,
                },
                changes,
            );
        }
    }

    fn move_circuit(&mut self, to: Circuit, changes: &mut Vec<Transition>) {
        let from = self.circuit.position();
        self.circuit = to;
        if from != to.position() {
            changes.push(Transition::Circuit {
                from,
                to: to.position(),
            });
        }
    }

    fn set_status(&mut self, to: HealthStatus, changes: &mut Vec<Transition>) {
        let from = self.status;
        self.status = to;
        changes.push(Transition::Status { from, to });
    }
}

#[cfg(test)]
mod tests;
