//! [`HealthProbe`]: what a template's active health checks send.

use std::{fmt, str::FromStr, sync::Arc};

use crate::error::ValidationError;

/// The active check of a template's instances.
///
/// Wire form (the `health_probe` setting): `"ping"`, `"tools_list"`, or an HTTP path
/// such as `"/healthz"` (a GET to the instance's origin; 2xx passes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum HealthProbe {
    /// MCP `ping` (`server/discover` for 2026-07-28 upstreams, which have no ping).
    #[default]
    Ping,
    /// MCP `tools/list`: also proves the catalogue is served.
    ToolsList,
    /// `GET {origin}{path}` on HTTP and SSE instances (stdio instances use `ping`).
    HttpGet(Arc<str>),
}

impl HealthProbe {
    /// The wire form.
    pub fn as_str(&self) -> &str {
        match self {
            HealthProbe::Ping => "ping",
            HealthProbe::ToolsList => "tools_list",
            HealthProbe::HttpGet(path) => path,
        }
    }
}

impl FromStr for HealthProbe {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let reject = |reason| ValidationError::InvalidProbe {
            value: s.chars().take(64).collect(),
            reason,
        };
        match s.trim() {
            "ping" => Ok(HealthProbe::Ping),
            "tools_list" | "tools/list" => Ok(HealthProbe::ToolsList),
            path if path.starts_with('/') => {
                if path.len() > 256 {
                    return Err(reject("an HTTP path is at most 256 bytes"));
                }
                if !path.bytes().all(|b| b.is_ascii_graphic()) || path.contains('#') {
                    return Err(reject(
                        "an HTTP path is visible ASCII without spaces or '#'",
                    ));
                }
                Ok(HealthProbe::HttpGet(Arc::from(path)))
            }
            _ => Err(reject(
                "expected \"ping\", \"tools_list\" or an HTTP path starting with '/'",
            )),
        }
    }
}

impl fmt::Display for HealthProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for HealthProbe {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for HealthProbe {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!("ping".parse::<HealthProbe>().unwrap(), HealthProbe::Ping);
        assert_eq!(
            "tools_list".parse::<HealthProbe>().unwrap(),
            HealthProbe::ToolsList
        );
        assert_eq!(
            "/healthz?x=1".parse::<HealthProbe>().unwrap().as_str(),
            "/healthz?x=1"
        );
        for bad in ["", "pong", "healthz", "/a b", "/a#b"] {
            assert!(bad.parse::<HealthProbe>().is_err(), "{bad:?}");
        }
    }
}
