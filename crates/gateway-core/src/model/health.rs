//! Health as published by the health checker and read by the balancer.

use std::fmt;

/// Whether an instance may receive traffic, as last decided by health checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HealthStatus {
    /// Not checked yet; routable, so a new instance takes traffic at once.
    #[default]
    Unknown,
    /// Passing its checks.
    Healthy,
    /// Failing its checks; not routable.
    Unhealthy,
    /// Starting or restarting (stdio child); not routable.
    Starting,
}

impl HealthStatus {
    /// Whether the balancer may pick an instance in this state.
    pub fn is_routable(self) -> bool {
        matches!(self, HealthStatus::Unknown | HealthStatus::Healthy)
    }

    /// The wire name used in health JSON (`"healthy"`, `"unhealthy"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Unknown => "unknown",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
            HealthStatus::Starting => "starting",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for HealthStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A health score in `0.0..=1.0` (1.0 = every recent check passed quickly).
///
/// NaN and out-of-range inputs are clamped, so comparisons are total.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct HealthScore(f32);

impl HealthScore {
    /// A perfect score, given to instances that have not been checked yet.
    pub const PERFECT: HealthScore = HealthScore(1.0);
    /// The worst score.
    pub const ZERO: HealthScore = HealthScore(0.0);

    /// Clamps `value` into `0.0..=1.0` (NaN becomes 0).
    pub fn new(value: f32) -> Self {
        if value.is_nan() {
            Self::ZERO
        } else {
            HealthScore(value.clamp(0.0, 1.0))
        }
    }

    /// The score as a float in `0.0..=1.0`.
    pub fn get(self) -> f32 {
        self.0
    }
}

impl Default for HealthScore {
    fn default() -> Self {
        Self::PERFECT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_is_clamped() {
        assert_eq!(HealthScore::new(f32::NAN).get(), 0.0);
        assert_eq!(HealthScore::new(2.0).get(), 1.0);
        assert_eq!(HealthScore::new(-1.0).get(), 0.0);
    }

    #[test]
    fn routable_states() {
        assert!(HealthStatus::Unknown.is_routable());
        assert!(HealthStatus::Healthy.is_routable());
        assert!(!HealthStatus::Unhealthy.is_routable());
        assert!(!HealthStatus::Starting.is_routable());
    }
}
