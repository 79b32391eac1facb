//! Settings of the native MCP endpoints (`/mcp`, `/mcp/{template}`), from `MCP_GATEWAY_*`
//! environment variables.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MCP_GATEWAY_SESSION_KEY` | generated once, stored in the database | base64 of 32 bytes: seals `Mcp-Session-Id`s (replicas sharing a database share it) |
//! | `MCP_GATEWAY_SESSION_KEYS_PREVIOUS` | none | comma-separated older keys still accepted (rotation) |
//! | `MCP_GATEWAY_NAME_SEPARATOR` | `__` | between template and name on the aggregated `/mcp` |
//! | `MCP_GATEWAY_SESSION_IDLE_TIMEOUT` | 1800 | seconds before an idle session's in-memory state is dropped |
//! | `MCP_GATEWAY_SESSION_MAX_AGE` | 86400 | seconds a session id stays valid after `initialize` |
//! | `MCP_GATEWAY_SSE_KEEPALIVE` | 15 | seconds between `:` keep-alive comments on SSE streams |

use std::time::Duration;

use super::ConfigError;

/// Validated MCP endpoint settings.
#[derive(Clone)]
pub struct McpSettings {
    /// The current session key (base64), if configured; otherwise one is generated and
    /// stored in the database.
    pub(crate) session_key: Option<String>,
    /// Older keys still accepted.
    pub(crate) previous_session_keys: Vec<String>,
    /// Between template and tool/prompt name on `/mcp`.
    pub(crate) name_separator: String,
    pub(crate) session_idle_timeout: Duration,
    pub(crate) session_max_age: Duration,
    pub(crate) sse_keepalive: Duration,
}

impl std::fmt::Debug for McpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpSettings")
            .field(
                "session_key",
                &self.session_key.as_ref().map(|_| "<redacted>"),
            )
            .field("previous_session_keys", &self.previous_session_keys.len())
            .field("name_separator", &self.name_separator)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("session_max_age", &self.session_max_age)
            .field("sse_keepalive", &self.sse_keepalive)
            .finish()
    }
}

pub(super) fn load(env: &impl Fn(&str) -> Option<String>) -> Result<McpSettings, ConfigError> {
    let get = |key: &str| {
        env(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let secs = |key: &str, default: u64, max: u64| -> Result<Duration, ConfigError> {
        match get(key) {
            None => Ok(Duration::from_secs(default)),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(Duration::from_secs(n)),
                _ => Err(ConfigError::new(
                    key,
                    format!("{v:?} must be a whole number of seconds from 1 to {max}"),
                )),
            },
        }
    };
    let name_separator = get("MCP_GATEWAY_NAME_SEPARATOR").unwrap_or_else(|| "__".to_owned());
    if name_separator.len() > 8
        || !name_separator
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        return Err(ConfigError::new(
            "MCP_GATEWAY_NAME_SEPARATOR",
            "must be 1 to 8 characters of [A-Za-z0-9_.-] (tool names must stay valid)",
        ));
    }
    Ok(McpSettings {
        session_key: get("MCP_GATEWAY_SESSION_KEY"),
        previous_session_keys: list_raw(get("MCP_GATEWAY_SESSION_KEYS_PREVIOUS")),
        name_separator,
        session_idle_timeout: secs("MCP_GATEWAY_SESSION_IDLE_TIMEOUT", 1800, 7 * 86400)?,
        session_max_age: secs("MCP_GATEWAY_SESSION_MAX_AGE", 86400, 30 * 86400)?,
        sse_keepalive: secs("MCP_GATEWAY_SSE_KEEPALIVE", 15, 3600)?,
    })
}

/// Comma-separated values, case kept (keys are base64).
fn list_raw(value: Option<String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}
