//! The drain deadline of a graceful shutdown: flag > environment > file > default.
//!
//! | flag | environment | file key | default |
//! |---|---|---|---|
//! | `--shutdown-grace SECONDS` | `MCP_GATEWAY_SHUTDOWN_GRACE` | `shutdown_grace` | 30 (0 to 3600) |

use std::time::Duration;

use super::ConfigError;

/// Seconds shutdown waits for in-flight requests by default.
const DEFAULT_SECS: u64 = 30;
/// Longest accepted grace: an hour is already longer than any orchestrator waits.
const MAX_SECS: u64 = 3600;

/// Resolves the shutdown grace.
pub(super) fn load(
    flag: Option<u64>,
    file: Option<u64>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Duration, ConfigError> {
    const ENV: &str = "MCP_GATEWAY_SHUTDOWN_GRACE";
    let (key, secs) = match (flag, env(ENV).filter(|v| !v.trim().is_empty())) {
        (Some(secs), _) => ("--shutdown-grace", secs),
        (None, Some(v)) => (
            ENV,
            v.trim()
                .parse::<u64>()
                .map_err(|_| ConfigError::new(ENV, format!("{v:?} is not a whole number")))?,
        ),
        (None, None) => ("shutdown_grace", file.unwrap_or(DEFAULT_SECS)),
    };
    if secs > MAX_SECS {
        return Err(ConfigError::new(
            key,
            format!("must be at most {MAX_SECS} seconds"),
        ));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn env(value: Option<&'static str>) -> impl Fn(&str) -> Option<String> {
        move |key| {
            assert_eq!(key, "MCP_GATEWAY_SHUTDOWN_GRACE");
            value.map(str::to_owned)
        }
    }

    #[test]
    fn flag_beats_env_beats_file_beats_default() {
        let secs = |flag, file, var| load(flag, file, &env(var)).unwrap().as_secs();
        assert_eq!(secs(None, None, None), 30);
        assert_eq!(secs(None, Some(5), None), 5);
        assert_eq!(secs(None, Some(5), Some(" 7 ")), 7);
        assert_eq!(secs(Some(0), Some(5), Some("7")), 0);
        assert_eq!(secs(None, Some(5), Some("")), 5, "empty means unset");
    }

    #[test]
    fn the_file_key_and_the_flag_reach_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.json");
        std::fs::write(&path, r#"{"shutdown_grace": 4}"#).unwrap();
        let overrides = crate::config::Overrides {
            config_file: Some(path),
            ..Default::default()
        };
        let load = |o: crate::config::Overrides| {
            crate::config::Settings::load_with_env(o, |_| None)
                .unwrap()
                .shutdown_grace
        };
        assert_eq!(load(overrides.clone()), Duration::from_secs(4));
        let flagged = crate::config::Overrides {
            shutdown_grace: Some(9),
            ..overrides
        };
        assert_eq!(load(flagged), Duration::from_secs(9));
        assert_eq!(
            load(crate::config::Overrides::default()),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = load(None, None, &env(Some("soon"))).unwrap_err();
        assert_eq!(e.key(), "MCP_GATEWAY_SHUTDOWN_GRACE");
        let e = load(Some(3601), None, &env(None)).unwrap_err();
        assert_eq!(e.key(), "--shutdown-grace");
        let e = load(None, Some(86400), &env(None)).unwrap_err();
        assert_eq!(e.key(), "shutdown_grace");
    }
}
