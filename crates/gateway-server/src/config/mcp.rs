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
//! | `MCP_GATEWAY_MAX_LIVE_SESSIONS` | 100000 | in-memory session entries per replica; beyond it the least recently used idle ones are dropped (they come back from the sealed id); 503 when none is idle |
//! | `MCP_GATEWAY_MAX_CLOSED_SESSIONS` | 100000 | DELETEd session ids remembered per replica (a 16-byte digest each); beyond it the oldest are forgotten, and such an id works again on this replica until it expires |
//! | `MCP_GATEWAY_MAX_DEDICATED_PER_PRINCIPAL` | 10 | dedicated upstream sessions one principal may hold on one template (auth on only) |
//! | `MCP_GATEWAY_SSE_MAX_CONNECTIONS` | 256 | open 2024-11-05 HTTP+SSE connections per replica (503 beyond) |
//! | `MCP_GATEWAY_SSE_MAX_CONNECTIONS_PER_PRINCIPAL` | 16 | the same, per principal (auth on only; 429 beyond) |
//! | `MCP_GATEWAY_SSE_QUEUE_MESSAGES` | 64 | requests accepted on one HTTP+SSE connection whose answers are not yet written to its stream (429 beyond) |
//! | `MCP_GATEWAY_SSE_QUEUE_BYTES` | 4194304 | bytes of those requests and answers (429 beyond; one message is always accepted into an empty queue) |

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
    /// Bounds on per-session and per-connection state.
    pub(crate) limits: McpLimits,
}

/// Bounds on what the MCP endpoints keep in memory (validated; see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct McpLimits {
    /// Live session entries per replica.
    pub(crate) max_live_sessions: usize,
    /// DELETEd session ids remembered per replica.
    pub(crate) max_closed_sessions: usize,
    /// Dedicated upstream sessions per principal and template (auth on).
    pub(crate) max_dedicated_per_principal: usize,
    /// Open HTTP+SSE connections per replica.
    pub(crate) sse_max_connections: usize,
    /// Open HTTP+SSE connections per principal (auth on).
    pub(crate) sse_max_connections_per_principal: usize,
    /// Unanswered or unsent messages per HTTP+SSE connection.
    pub(crate) sse_queue_messages: usize,
    /// Their bytes.
    pub(crate) sse_queue_bytes: usize,
}

impl Default for McpLimits {
    fn default() -> Self {
        Self {
            max_live_sessions: 100_000,
            max_closed_sessions: 100_000,
            max_dedicated_per_principal: 10,
            sse_max_connections: 256,
            sse_max_connections_per_principal: 16,
            sse_queue_messages: 64,
            sse_queue_bytes: 4 * 1024 * 1024,
        }
    }
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
            .field("limits", &self.limits)
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
    let count = |key: &str, default: usize, min: usize, max: usize| match get(key) {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(ConfigError::new(
                key,
                format!("{v:?} must be a whole number from {min} to {max}"),
            )),
        },
    };
    let d = McpLimits::default();
    let limits = McpLimits {
        max_live_sessions: count(
            "MCP_GATEWAY_MAX_LIVE_SESSIONS",
            d.max_live_sessions,
            1,
            10_000_000,
        )?,
        max_closed_sessions: count(
            "MCP_GATEWAY_MAX_CLOSED_SESSIONS",
            d.max_closed_sessions,
            1,
            10_000_000,
        )?,
        max_dedicated_per_principal: count(
            "MCP_GATEWAY_MAX_DEDICATED_PER_PRINCIPAL",
            d.max_dedicated_per_principal,
            1,
            10_000,
        )?,
        sse_max_connections: count(
            "MCP_GATEWAY_SSE_MAX_CONNECTIONS",
            d.sse_max_connections,
            1,
            1_000_000,
        )?,
        sse_max_connections_per_principal: count(
            "MCP_GATEWAY_SSE_MAX_CONNECTIONS_PER_PRINCIPAL",
            d.sse_max_connections_per_principal,
            1,
            1_000_000,
        )?,
        sse_queue_messages: count(
            "MCP_GATEWAY_SSE_QUEUE_MESSAGES",
            d.sse_queue_messages,
            1,
            100_000,
        )?,
        sse_queue_bytes: count(
            "MCP_GATEWAY_SSE_QUEUE_BYTES",
            d.sse_queue_bytes,
            1024,
            1024 * 1024 * 1024,
        )?,
    };
    Ok(McpSettings {
        session_key: get("MCP_GATEWAY_SESSION_KEY"),
        previous_session_keys: list_raw(get("MCP_GATEWAY_SESSION_KEYS_PREVIOUS")),
        name_separator,
        session_idle_timeout: secs("MCP_GATEWAY_SESSION_IDLE_TIMEOUT", 1800, 7 * 86400)?,
        session_max_age: secs("MCP_GATEWAY_SESSION_MAX_AGE", 86400, 30 * 86400)?,
        sse_keepalive: secs("MCP_GATEWAY_SSE_KEEPALIVE", 15, 3600)?,
        limits,
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
