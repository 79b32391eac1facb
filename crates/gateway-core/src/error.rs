//! Validation errors raised by the constructors of core types.

/// A value was rejected by a core type's constructor.
///
/// Each variant names the kind of value and why it was refused, so an API layer can
/// point the user at the offending field without string matching.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A template name or instance id breaks the naming rules.
    #[error("invalid {kind} {value:?}: {reason}")]
    InvalidName {
        /// Which kind of name (`template name`, `instance id`).
        kind: &'static str,
        /// The rejected value (names are not secret).
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A weight outside `1..=MAX`.
    #[error("invalid weight {value}: must be between 1 and {max}")]
    InvalidWeight {
        /// The rejected value.
        value: i64,
        /// The largest accepted weight.
        max: u32,
    },
    /// An upstream URL that is not an absolute `http(s)://` URL.
    #[error("invalid endpoint URL {value:?}: {reason}")]
    InvalidUrl {
        /// The rejected URL.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A header name or value that cannot be sent over HTTP.
    #[error("invalid header {name:?}: {reason}")]
    InvalidHeader {
        /// The header name (values are never echoed: they may hold credentials).
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A stdio command that cannot be spawned as given.
    #[error("invalid command: {reason}")]
    InvalidCommand {
        /// Why it was rejected.
        reason: &'static str,
    },
    /// An unknown load-balancing strategy name.
    #[error(
        "unknown strategy {value:?}: expected one of round_robin, least_connections, weighted, health_based, random"
    )]
    UnknownStrategy {
        /// The rejected name.
        value: String,
    },
    /// An environment variable name that is empty or contains `=` or NUL.
    #[error("invalid environment variable name {name:?}")]
    InvalidEnvName {
        /// The rejected name.
        name: String,
    },
    /// A role, scope or other enumerated value that is not one of the known names.
    #[error("unknown {kind} {value:?}: expected one of {expected}")]
    UnknownValue {
        /// What kind of value (`role`, `scope`).
        kind: &'static str,
        /// The rejected value.
        value: String,
        /// The accepted names.
        expected: &'static str,
    },
    /// An unusable `health_probe` setting.
    #[error("invalid health_probe {value:?}: {reason}")]
    InvalidProbe {
        /// The rejected value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// A setting whose value is unusable for a reason other than its range.
    #[error("{field} {reason}")]
    InvalidSetting {
        /// The setting's name (`upstream_tls.ca_bundle`).
        field: &'static str,
        /// Why it was rejected (values are not echoed: paths may be private).
        reason: &'static str,
    },
    /// A numeric setting outside its allowed range.
    #[error("{field} must be between {min} and {max} (got {value})")]
    OutOfRange {
        /// The setting's name.
        field: &'static str,
        /// The rejected value.
        value: i64,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
}

impl ValidationError {
    /// The setting at fault, for errors about one named setting.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            ValidationError::InvalidSetting { field, .. }
            | ValidationError::OutOfRange { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// `v` when it is within `lo..=hi`, else [`ValidationError::OutOfRange`] naming `field`
/// (the one range check of the settings types).
pub(crate) fn in_range<T: PartialOrd + Copy + Into<i64>>(
    field: &'static str,
    v: T,
    (lo, hi): (T, T),
) -> Result<T, ValidationError> {
    if v < lo || v > hi {
        return Err(ValidationError::OutOfRange {
            field,
            value: v.into(),
            min: lo.into(),
            max: hi.into(),
        });
    }
    Ok(v)
}
