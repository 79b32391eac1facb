//! Instance weights for weighted balancing.

use std::num::NonZeroU32;

use crate::error::ValidationError;

/// The relative share of traffic an instance receives under the weighted strategy.
///
/// Always in `1..=Weight::MAX`; a drained instance is deregistered, not weighted zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Weight(NonZeroU32);

impl Weight {
    /// The largest accepted weight.
    pub const MAX: u32 = 10_000;

    /// The default weight, 1.
    pub const ONE: Weight = Weight(NonZeroU32::MIN);

    /// Validates a weight.
    pub fn new(value: i64) -> Result<Self, ValidationError> {
        u32::try_from(value)
            .ok()
            .filter(|v| *v <= Self::MAX)
            .and_then(NonZeroU32::new)
            .map(Weight)
            .ok_or(ValidationError::InvalidWeight {
                value,
                max: Self::MAX,
            })
    }

    /// The weight as an integer (never zero).
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl Default for Weight {
    fn default() -> Self {
        Self::ONE
    }
}

impl serde::Serialize for Weight {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.get())
    }
}

impl<'de> serde::Deserialize<'de> for Weight {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Weight::new(i64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(Weight::new(0).is_err());
        assert!(Weight::new(-1).is_err());
        assert_eq!(Weight::new(1).unwrap(), Weight::ONE);
        assert_eq!(Weight::new(10_000).unwrap().get(), 10_000);
        assert!(Weight::new(10_001).is_err());
    }
}
