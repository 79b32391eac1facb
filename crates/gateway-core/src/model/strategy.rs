//! Load-balancing strategy names.

use std::{fmt, str::FromStr};

use crate::error::ValidationError;

/// How a template's requests are spread over its instances.
///
/// The wire names are the guide's (`round_robin`, `least_connections`, `weighted`,
/// `health_based`, `random`); a few common aliases are accepted on input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// Each healthy instance in turn.
    #[default]
    RoundRobin,
    /// The instance with the fewest requests in flight.
    LeastConnections,
    /// Smooth weighted round robin by instance weight.
    Weighted,
    /// The instances with the best health score, in turn.
    HealthBased,
    /// A uniformly random healthy instance.
    Random,
}

impl Strategy {
    /// Every strategy, in documentation order.
    pub const ALL: [Strategy; 5] = [
        Strategy::RoundRobin,
        Strategy::LeastConnections,
        Strategy::Weighted,
        Strategy::HealthBased,
        Strategy::Random,
    ];

    /// The canonical wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastConnections => "least_connections",
            Strategy::Weighted => "weighted",
            Strategy::HealthBased => "health_based",
            Strategy::Random => "random",
        }
    }
}

impl FromStr for Strategy {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(
            match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                "round_robin" | "roundrobin" | "rr" => Strategy::RoundRobin,
                "least_connections" | "least_conn" | "leastconn" => Strategy::LeastConnections,
                "weighted" | "weighted_round_robin" | "wrr" => Strategy::Weighted,
                "health_based" | "health" => Strategy::HealthBased,
                "random" => Strategy::Random,
                _ => {
                    return Err(ValidationError::UnknownStrategy {
                        value: s.chars().take(64).collect(),
                    });
                }
            },
        )
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Strategy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Strategy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_aliases() {
        for s in Strategy::ALL {
            assert_eq!(s.as_str().parse::<Strategy>().unwrap(), s);
        }
        assert_eq!(
            "Least-Conn".parse::<Strategy>().unwrap(),
            Strategy::LeastConnections
        );
        assert_eq!(
            "weighted_round_robin".parse::<Strategy>().unwrap(),
            Strategy::Weighted
        );
        assert!("fastest".parse::<Strategy>().is_err());
    }
}
