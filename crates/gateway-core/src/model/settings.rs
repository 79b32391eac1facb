//! Per-template load-balancer settings (the guide's `load_balancer` block).

use std::time::Duration;

use crate::{
    HealthProbe, SessionMode, Strategy, UpstreamAuth, UpstreamLimits, UpstreamTls,
    error::ValidationError,
};

/// How a template balances, checks and retries. Construct with [`LoadBalancerSettings::new`]
/// (validated) or `Default`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerSettings {
    strategy: Strategy,
    health_check_interval: Duration,
    health_check_timeout: Duration,
    max_retries: u32,
    request_timeout: Duration,
    pool_size: u32,
    health_probe: HealthProbe,
    session_mode: SessionMode,
    max_sessions: u32,
    upstream_tls: Option<UpstreamTls>,
    upstream_auth: UpstreamAuth,
    upstream_limits: UpstreamLimits,
}

/// Bounds, shared by validation and documentation.
impl LoadBalancerSettings {
    /// Health-check interval range, seconds.
    pub const HEALTH_INTERVAL_SECS: (u64, u64) = (1, 3600);
    /// Health-check timeout range, seconds.
    pub const HEALTH_TIMEOUT_SECS: (u64, u64) = (1, 300);
    /// Retry range.
    pub const MAX_RETRIES: (u32, u32) = (0, 10);
    /// Request timeout range, seconds.
    pub const TIMEOUT_SECS: (u64, u64) = (1, 3600);
    /// stdio processes per instance.
    pub const POOL_SIZE: (u32, u32) = (1, 64);
    /// Dedicated upstream sessions per template.
    pub const MAX_SESSIONS: (u32, u32) = (1, 10_000);
    /// `max_sessions` unless set.
    pub const DEFAULT_MAX_SESSIONS: u32 = 100;

    /// Validates every field; the error names the offending one.
    pub fn new(
        strategy: Strategy,
        health_check_interval_secs: u64,
        health_check_timeout_secs: u64,
        max_retries: u32,
        timeout_secs: u64,
        pool_size: u32,
    ) -> Result<Self, ValidationError> {
        let check = crate::error::in_range;
        let secs = |field, v: u64, range: (u64, u64)| -> Result<Duration, ValidationError> {
            let clamp = |x: u64| i64::try_from(x).unwrap_or(i64::MAX);
            if v < range.0 || v > range.1 {
                return Err(ValidationError::OutOfRange {
                    field,
                    value: clamp(v),
                    min: clamp(range.0),
                    max: clamp(range.1),
                });
            }
            Ok(Duration::from_secs(v))
        };
        Ok(Self {
            strategy,
            health_check_interval: secs(
                "health_check_interval",
                health_check_interval_secs,
                Self::HEALTH_INTERVAL_SECS,
            )?,
            health_check_timeout: secs(
                "health_check_timeout",
                health_check_timeout_secs,
                Self::HEALTH_TIMEOUT_SECS,
            )?,
            max_retries: check("max_retries", max_retries, Self::MAX_RETRIES)?,
            request_timeout: secs("timeout", timeout_secs, Self::TIMEOUT_SECS)?,
            pool_size: check("pool_size", pool_size, Self::POOL_SIZE)?,
            health_probe: HealthProbe::Ping,
            session_mode: SessionMode::Shared,
            max_sessions: Self::DEFAULT_MAX_SESSIONS,
            upstream_tls: None,
            upstream_auth: UpstreamAuth::default(),
            upstream_limits: UpstreamLimits::default(),
        })
    }

    /// The balancing strategy.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }
    /// Time between active health checks.
    pub fn health_check_interval(&self) -> Duration {
        self.health_check_interval
    }
    /// Deadline of one health check.
    pub fn health_check_timeout(&self) -> Duration {
        self.health_check_timeout
    }
    /// Extra attempts on other instances after a failure.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }
    /// Deadline of one proxied request.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }
    /// Processes per stdio instance.
    pub fn pool_size(&self) -> u32 {
        self.pool_size
    }

    /// What active health checks send.
    pub fn health_probe(&self) -> &HealthProbe {
        &self.health_probe
    }

    /// A copy with another health probe.
    pub fn with_health_probe(mut self, probe: HealthProbe) -> Self {
        self.health_probe = probe;
        self
    }

    /// How client MCP sessions map onto upstream sessions.
    pub fn session_mode(&self) -> SessionMode {
        self.session_mode
    }

    /// The most dedicated upstream sessions (stdio processes) the template may hold.
    pub fn max_sessions(&self) -> u32 {
        self.max_sessions
    }

    /// A copy with another session mode and `max_sessions` (validated; the error names
    /// `max_sessions`).
    pub fn with_session_mode(
        mut self,
        mode: SessionMode,
        max_sessions: u32,
    ) -> Result<Self, ValidationError> {
        let (min, max) = Self::MAX_SESSIONS;
        if !(min..=max).contains(&max_sessions) {
            return Err(ValidationError::OutOfRange {
                field: "max_sessions",
                value: max_sessions.into(),
                min: min.into(),
                max: max.into(),
            });
        }
        self.session_mode = mode;
        self.max_sessions = max_sessions;
        Ok(self)
    }

    /// TLS settings of the template's HTTPS upstreams (`None`: the system's roots, no
    /// client certificate).
    pub fn upstream_tls(&self) -> Option<&UpstreamTls> {
        self.upstream_tls.as_ref()
    }

    /// A copy with other upstream TLS settings; settings that change nothing are stored
    /// as `None`.
    pub fn with_upstream_tls(mut self, tls: Option<UpstreamTls>) -> Self {
        self.upstream_tls = tls.filter(|t| !t.is_default());
        self
    }

    /// Which credentials the template's upstreams get (default `static`: the
    /// instances' stored headers).
    pub fn upstream_auth(&self) -> &UpstreamAuth {
        &self.upstream_auth
    }

    /// A copy with other upstream authentication.
    pub fn with_upstream_auth(mut self, auth: UpstreamAuth) -> Self {
        self.upstream_auth = auth;
        self
    }

    /// How much of each instance the gateway may use at once.
    pub fn upstream_limits(&self) -> &UpstreamLimits {
        &self.upstream_limits
    }

    /// A copy with other per-instance limits.
    pub fn with_upstream_limits(mut self, limits: UpstreamLimits) -> Self {
        self.upstream_limits = limits;
        self
    }

    /// A copy with another strategy.
    pub fn with_strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }
}

impl Default for LoadBalancerSettings {
    /// The guide's defaults: round robin, checks every 30 s with a 10 s timeout, 3
    /// retries, 60 s request timeout, one process per stdio instance, `ping` probes,
    /// shared upstream sessions (at most 100 when switched to dedicated), no upstream TLS
    /// settings (system roots, no client certificate).
    fn default() -> Self {
        Self {
            strategy: Strategy::RoundRobin,
            health_check_interval: Duration::from_secs(30),
            health_check_timeout: Duration::from_secs(10),
            max_retries: 3,
            request_timeout: Duration::from_secs(60),
            pool_size: 1,
            health_probe: HealthProbe::Ping,
            session_mode: SessionMode::Shared,
            max_sessions: Self::DEFAULT_MAX_SESSIONS,
            upstream_tls: None,
            upstream_auth: UpstreamAuth::default(),
            upstream_limits: UpstreamLimits::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_names_the_field() {
        assert!(LoadBalancerSettings::new(Strategy::Weighted, 15, 5, 2, 30, 4).is_ok());
        let e = LoadBalancerSettings::new(Strategy::Weighted, 0, 5, 2, 30, 1).unwrap_err();
        assert!(e.to_string().contains("health_check_interval"), "{e}");
        let e = LoadBalancerSettings::new(Strategy::Weighted, 15, 5, 11, 30, 1).unwrap_err();
        assert!(e.to_string().contains("max_retries"), "{e}");
        let e = LoadBalancerSettings::new(Strategy::Weighted, 15, 5, 1, 30, 0).unwrap_err();
        assert!(e.to_string().contains("pool_size"), "{e}");
    }

    #[test]
    fn session_mode_defaults_and_bounds() {
        let d = LoadBalancerSettings::default();
        assert_eq!(
            (d.session_mode(), d.max_sessions()),
            (SessionMode::Shared, 100)
        );
        let n = LoadBalancerSettings::new(Strategy::Weighted, 15, 5, 2, 30, 4).unwrap();
        assert_eq!(
            (n.session_mode(), n.max_sessions()),
            (SessionMode::Shared, 100)
        );

        let s = d
            .clone()
            .with_session_mode(SessionMode::Dedicated, 1)
            .unwrap();
        assert_eq!(
            (s.session_mode(), s.max_sessions()),
            (SessionMode::Dedicated, 1)
        );
        let s = d
            .clone()
            .with_session_mode(SessionMode::Dedicated, 10_000)
            .unwrap();
        assert_eq!(s.max_sessions(), 10_000);
        for bad in [0, 10_001] {
            let e = d
                .clone()
                .with_session_mode(SessionMode::Dedicated, bad)
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    ValidationError::OutOfRange {
                        field: "max_sessions",
                        ..
                    }
                ),
                "{e}"
            );
            assert!(e.to_string().contains("max_sessions"), "{e}");
        }
    }
}
