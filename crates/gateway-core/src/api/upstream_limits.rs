//! [`UpstreamLimitsConfig`]: the wire shape of a template's per-instance limits.

use serde::{Deserialize, Serialize};

use crate::{UpstreamLimits, ValidationError};

/// The `upstream_limits` object of a template's `load_balancer` block: how much of each
/// instance the gateway may use at once. Absent fields take their defaults; answers
/// carry every field.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamLimitsConfig {
    /// Requests one instance serves at once (1 to 100000; default 1024).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::whole::option"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(example = 64, minimum = 1, maximum = 100000)
    )]
    pub max_in_flight: Option<u32>,
    /// Requests that may wait for a free slot, each until its deadline (0 to 100000;
    /// default 1024; 0 refuses overflow at once). Beyond that: 503 with `Retry-After`
    /// (JSON-RPC −32050).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::whole::option"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(example = 256, minimum = 0, maximum = 100000)
    )]
    pub max_pending: Option<u32>,
    /// Open HTTP connections to one instance (1 to 100000; default 1024; HTTP and SSE
    /// instances).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::whole::option"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(example = 64, minimum = 1, maximum = 100000)
    )]
    pub max_connections: Option<u32>,
    /// Idle HTTP connections kept per instance for reuse (0 to 100000; default 16);
    /// more are closed as they go idle.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::whole::option"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(example = 8, minimum = 0, maximum = 100000)
    )]
    pub idle_connections: Option<u32>,
}

impl UpstreamLimitsConfig {
    /// The validated limits; the error names the field
    /// (`upstream_limits.max_in_flight`, ...).
    pub fn validate(&self) -> Result<UpstreamLimits, ValidationError> {
        let d = UpstreamLimits::default();
        UpstreamLimits::new(
            self.max_in_flight.unwrap_or(d.max_in_flight()),
            self.max_pending.unwrap_or(d.max_pending()),
            self.max_connections.unwrap_or(d.max_connections()),
            self.idle_connections.unwrap_or(d.idle_connections()),
        )
    }
}

impl From<&UpstreamLimits> for UpstreamLimitsConfig {
    fn from(l: &UpstreamLimits) -> Self {
        Self {
            max_in_flight: Some(l.max_in_flight()),
            max_pending: Some(l.max_pending()),
            max_connections: Some(l.max_connections()),
            idle_connections: Some(l.idle_connections()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<UpstreamLimits, String> {
        let wire: UpstreamLimitsConfig = serde_json::from_str(json).map_err(|e| e.to_string())?;
        wire.validate().map_err(|e| e.to_string())
    }

    #[test]
    fn absent_fields_are_defaults_and_bad_ones_are_named() {
        assert_eq!(parse("{}").unwrap(), UpstreamLimits::default());
        let l = parse(r#"{"max_in_flight": 64, "max_pending": 0.0}"#).unwrap();
        assert_eq!((l.max_in_flight(), l.max_pending()), (64, 0));
        assert_eq!(l.max_connections(), UpstreamLimits::DEFAULT_CAP);
        assert!(
            parse(r#"{"max_in_flight": 0}"#)
                .unwrap_err()
                .contains("upstream_limits.max_in_flight")
        );
        assert!(parse(r#"{"max_in_flight": -1}"#).is_err());
        assert!(parse(r#"{"max_in_flight": 1.5}"#).is_err());
        assert!(parse(r#"{"max_queue": 1}"#).is_err());
        let round = UpstreamLimitsConfig::from(&l).validate().unwrap();
        assert_eq!(round, l);
    }
}
