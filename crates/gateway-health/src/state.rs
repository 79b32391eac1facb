//! [`InstanceHealth`]: one instance's health as a pure state machine, driven by probe
//! results and live-request outcomes with explicit timestamps (so tests need no clock).

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
    /// `closed`, `open` or `half_open`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Circuit::Closed => "closed",
            Circuit::Open { .. } => "open",
            Circuit::HalfOpen { .. } => "half_open",
        }
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
        /// Before (`closed`, `open`, `half_open`).
        from: &'static str,
        /// After.
        to: &'static str,
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

    /// Whether the balancer should offer this instance now: not failing its probes and
    /// the circuit not open.
    pub fn is_routable(&self, now: Instant) -> bool {
        self.status != HealthStatus::Unhealthy && !matches!(self.circuit(now), Circuit::Open { .. })
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
            Outcome::Failure => {
                self.live_failures = self.live_failures.saturating_add(1);
                let trip = match self.circuit {
                    Circuit::Closed => self.live_failures >= self.policy.failure_threshold,
                    Circuit::HalfOpen { .. } => true,
                    Circuit::Open { .. } => false,
                };
                if trip {
                    self.open(now, &mut changes);
                }
            }
        }
        changes
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
        let from = self.circuit.as_str();
        self.circuit = to;
        if from != to.as_str() {
            changes.push(Transition::Circuit {
                from,
                to: to.as_str(),
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
