//! [`SessionMode`]: how a template's client MCP sessions map onto upstream sessions.

use std::{fmt, str::FromStr};

use crate::error::ValidationError;

/// How client MCP sessions of a template reach its upstreams (the `session_mode`
/// setting).
///
/// Wire form: `"shared"` or `"dedicated"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SessionMode {
    /// Clients multiplex over the template's pooled upstream sessions and stdio
    /// processes. Right for stateless tools, and the only sane choice for stdio servers
    /// at scale: a hundred clients share `pool_size` processes.
    #[default]
    Shared,
    /// Each client MCP session gets its own upstream session (or stdio process), capped
    /// by `max_sessions` and reaped when idle. For stateful servers, and for servers that
    /// send requests to the client (sampling, elicitation, roots), which must reach the
    /// one client that owns the session.
    Dedicated,
}

impl SessionMode {
    /// Every mode, in documentation order.
    pub const ALL: [SessionMode; 2] = [SessionMode::Shared, SessionMode::Dedicated];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionMode::Shared => "shared",
            SessionMode::Dedicated => "dedicated",
        }
    }
}

impl FromStr for SessionMode {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "shared" => Ok(SessionMode::Shared),
            "dedicated" => Ok(SessionMode::Dedicated),
            _ => Err(ValidationError::UnknownValue {
                kind: "session_mode",
                value: s.chars().take(64).collect(),
                expected: "shared, dedicated",
            }),
        }
    }
}

impl fmt::Display for SessionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for SessionMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for SessionMode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_the_choices() {
        for m in SessionMode::ALL {
            assert_eq!(m.as_str().parse::<SessionMode>().unwrap(), m);
            assert_eq!(m.to_string(), m.as_str());
        }
        assert_eq!(SessionMode::default(), SessionMode::Shared);
        assert_eq!(
            " Dedicated ".parse::<SessionMode>().unwrap(),
            SessionMode::Dedicated
        );
        let e = "exclusive".parse::<SessionMode>().unwrap_err().to_string();
        assert!(
            e.contains("session_mode") && e.contains("shared, dedicated"),
            "{e}"
        );
        assert_eq!(
            serde_json::to_string(&SessionMode::Dedicated).unwrap(),
            "\"dedicated\""
        );
        assert_eq!(
            serde_json::from_str::<SessionMode>("\"shared\"").unwrap(),
            SessionMode::Shared
        );
        assert!(serde_json::from_str::<SessionMode>("\"pooled\"").is_err());
    }
}
