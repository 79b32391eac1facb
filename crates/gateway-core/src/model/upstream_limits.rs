//! [`UpstreamLimits`]: how much of one upstream instance the gateway may use at once
//! (the `upstream_limits` object of a template's `load_balancer` block), Envoy-style:
//!
//! | field | default | bounds |
//! |---|---|---|
//! | `max_in_flight` | 1024 | requests being served by one instance at once |
//! | `max_pending` | 1024 | requests waiting for one of those slots (each at most until its deadline); `0` answers overflow at once |
//! | `max_connections` | 1024 | open HTTP connections to one instance (HTTP and SSE instances) |
//! | `idle_connections` | 16 | idle HTTP connections kept for reuse; the rest are closed as they go idle |
//!
//! A request beyond `max_in_flight + max_pending` is refused at once (HTTP 503 with
//! `Retry-After`, JSON-RPC −32050), never queued without bound.

use crate::error::ValidationError;

/// Per-instance limits of a template's upstreams. Construct with [`UpstreamLimits::new`]
/// (validated) or `Default`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UpstreamLimits {
    max_in_flight: u32,
    max_pending: u32,
    max_connections: u32,
    idle_connections: u32,
}

impl UpstreamLimits {
    /// Range of `max_in_flight`.
    pub const MAX_IN_FLIGHT: (u32, u32) = (1, 100_000);
    /// Range of `max_pending`.
    pub const MAX_PENDING: (u32, u32) = (0, 100_000);
    /// Range of `max_connections`.
    pub const MAX_CONNECTIONS: (u32, u32) = (1, 100_000);
    /// Range of `idle_connections`.
    pub const IDLE_CONNECTIONS: (u32, u32) = (0, 100_000);
    /// Default of the three caps.
    pub const DEFAULT_CAP: u32 = 1024;
    /// Default of `idle_connections`.
    pub const DEFAULT_IDLE: u32 = 16;

    /// Validates every field; the error names the offending one
    /// (`upstream_limits.max_in_flight`, ...).
    pub fn new(
        max_in_flight: u32,
        max_pending: u32,
        max_connections: u32,
        idle_connections: u32,
    ) -> Result<Self, ValidationError> {
        let check = crate::error::in_range::<u32>;
        Ok(Self {
            max_in_flight: check(
                "upstream_limits.max_in_flight",
                max_in_flight,
                Self::MAX_IN_FLIGHT,
            )?,
            max_pending: check(
                "upstream_limits.max_pending",
                max_pending,
                Self::MAX_PENDING,
            )?,
            max_connections: check(
                "upstream_limits.max_connections",
                max_connections,
                Self::MAX_CONNECTIONS,
            )?,
            idle_connections: check(
                "upstream_limits.idle_connections",
                idle_connections,
                Self::IDLE_CONNECTIONS,
            )?,
        })
    }

    /// Requests one instance serves at once.
    pub fn max_in_flight(&self) -> u32 {
        self.max_in_flight
    }
    /// Requests that may wait for a slot of one instance.
    pub fn max_pending(&self) -> u32 {
        self.max_pending
    }
    /// Open HTTP connections to one instance.
    pub fn max_connections(&self) -> u32 {
        self.max_connections
    }
    /// Idle HTTP connections kept per instance.
    pub fn idle_connections(&self) -> u32 {
        self.idle_connections
    }

    /// Whether these are the defaults (stored as nothing).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl Default for UpstreamLimits {
    fn default() -> Self {
        Self {
            max_in_flight: Self::DEFAULT_CAP,
            max_pending: Self::DEFAULT_CAP,
            max_connections: Self::DEFAULT_CAP,
            idle_connections: Self::DEFAULT_IDLE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_name_the_field() {
        assert!(UpstreamLimits::new(64, 0, 64, 0).is_ok());
        for (limits, field) in [
            ((0, 1, 1, 1), "upstream_limits.max_in_flight"),
            ((1, 100_001, 1, 1), "upstream_limits.max_pending"),
            ((1, 1, 0, 1), "upstream_limits.max_connections"),
            ((1, 1, 1, 100_001), "upstream_limits.idle_connections"),
        ] {
            let e = UpstreamLimits::new(limits.0, limits.1, limits.2, limits.3).unwrap_err();
            assert_eq!(e.field(), Some(field), "{e}");
        }
        assert!(UpstreamLimits::default().is_default());
        assert!(
            !UpstreamLimits::new(64, 1024, 1024, 16)
                .unwrap()
                .is_default()
        );
    }
}
