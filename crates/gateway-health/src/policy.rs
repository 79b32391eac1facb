//! [`HealthPolicy`]: thresholds and back-off of one instance's health state machine.

use std::time::Duration;

/// How quickly an instance is declared unhealthy, ejected, and trusted again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Consecutive failed probes before the instance is unhealthy (default 2).
    pub unhealthy_threshold: u32,
    /// Consecutive successful probes before it is healthy again (default 2).
    pub healthy_threshold: u32,
    /// Consecutive failed live requests that open the circuit (default 3).
    pub failure_threshold: u32,
    /// First open (ejection) period; doubles with each repeated ejection (default 2 s).
    pub open_base: Duration,
    /// Longest open period (default 60 s). An instance closed for longer than this
    /// starts again from `open_base`.
    pub open_max: Duration,
    /// Trial requests let through while half-open; that many successes close the
    /// circuit (default 2).
    pub half_open_trials: u32,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self {
            unhealthy_threshold: 2,
            healthy_threshold: 2,
            failure_threshold: 3,
            open_base: Duration::from_secs(2),
            open_max: Duration::from_secs(60),
            half_open_trials: 2,
        }
    }
}
