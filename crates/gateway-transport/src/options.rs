//! [`Options`]: limits, timeouts and identity used by every adapter.

use std::{num::NonZeroUsize, time::Duration};

use crate::PoolLimits;

/// Which protocol era to speak to an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EraPreference {
    /// Probe with `server/discover`; fall back to `initialize` (what dual-era clients do).
    #[default]
    Auto,
    /// Always `initialize` (session-based, 2024-11-05 to 2025-11-25).
    Legacy,
    /// Always stateless 2026-07-28; fails if the upstream does not support it.
    Modern,
}

/// Settings shared by all upstream adapters.
#[derive(Debug, Clone)]
pub struct Options {
    /// Deadline for one request, from send to final response (default 30 s).
    pub request_timeout: Duration,
    /// Deadline for connecting, spawning plus handshake, or waiting for a restarting
    /// process to come back (default 10 s).
    pub connect_timeout: Duration,
    /// Largest accepted message in either direction (default 16 MiB).
    pub max_message_size: usize,
    /// Era to speak.
    pub era: EraPreference,
    /// `clientInfo` sent upstream.
    pub client_name: String,
    /// `clientInfo.version` sent upstream.
    pub client_version: String,
    /// Capabilities declared to upstreams, as a JSON object (default `{}`).
    pub client_capabilities: serde_json::Value,
    /// Child processes per stdio instance (default 1).
    pub stdio_processes: NonZeroUsize,
    /// Gateway environment variables a stdio child inherits (nothing else is inherited).
    pub stdio_env_allowlist: Vec<String>,
    /// After closing a child's stdin, how long to wait before SIGTERM, and again before
    /// SIGKILL (default 2 s).
    pub stdio_shutdown_grace: Duration,
    /// First restart delay of a crashed child; doubles per crash up to
    /// `restart_backoff_max` (defaults 100 ms and 30 s).
    pub restart_backoff: Duration,
    /// Longest restart delay.
    pub restart_backoff_max: Duration,
    /// Connection limits of each HTTP or SSE instance's pool. Anything but the default
    /// (unlimited) gives every instance a pool of its own.
    pub pool_limits: PoolLimits,
}

/// Variables a stdio child inherits from the gateway by default: enough to find
/// programs and run them in the right locale, no credentials.
pub const DEFAULT_ENV_ALLOWLIST: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "TERM",
    "SYSTEMROOT",
];

impl Default for Options {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_message_size: 16 * 1024 * 1024,
            era: EraPreference::Auto,
            client_name: "mcp-gateway".to_owned(),
            client_version: env!("CARGO_PKG_VERSION").to_owned(),
            client_capabilities: serde_json::json!({}),
            stdio_processes: NonZeroUsize::MIN,
            stdio_env_allowlist: DEFAULT_ENV_ALLOWLIST
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            stdio_shutdown_grace: Duration::from_secs(2),
            restart_backoff: Duration::from_millis(100),
            restart_backoff_max: Duration::from_secs(30),
            pool_limits: PoolLimits::default(),
        }
    }
}
