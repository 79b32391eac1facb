//! Running several replicas on one database: the replica's name, the shared Redis, and
//! how often the change feed is polled. Flag > environment > file > default.
//!
//! | environment | file key | default | meaning |
//! |---|---|---|---|
//! | `MCP_GATEWAY_REPLICA_ID` | `replica_id` | `{hostname}-{pid}` | this replica's name in logs, `/gateway/stats` and `/gateway/health` (1 to 64 of `A-Z a-z 0-9 . _ -`) |
//! | `MCP_GATEWAY_REDIS_URL` | `redis_url` | none | `redis://[user:password@]host:port[/db]`: rate limits, login throttling and change wake-ups shared by the fleet; without it each replica limits on its own |
//! | `MCP_GATEWAY_REDIS_PREFIX` | `redis_prefix` | `mcp-gateway:` | prefix of every Redis key and channel (two fleets on one Redis use two prefixes) |
//! | `MCP_GATEWAY_CHANGE_POLL_MS` | `change_poll_ms` | 250 | how often the change feed reads the database's change counter (50 to 60000 ms); with PostgreSQL `LISTEN` or Redis pub/sub connected it is only a safety net, read every 5 s |

use std::time::Duration;

use super::ConfigError;

/// Default poll interval of the change feed.
const DEFAULT_POLL_MS: u64 = 250;
/// The longest accepted replica id.
const MAX_REPLICA_ID: usize = 64;

/// Validated fleet settings.
#[derive(Debug, Clone)]
pub struct FleetSettings {
    /// This replica's name.
    pub(crate) replica_id: String,
    /// Shared state, if configured.
    pub(crate) redis: Option<RedisSettings>,
    /// How often the change counter is read when nothing wakes the feed.
    pub(crate) change_poll: Duration,
}

/// Where the fleet's shared state lives.
#[derive(Clone)]
pub(crate) struct RedisSettings {
    /// The URL (may hold a password: never logged).
    pub(crate) url: String,
    pub(crate) prefix: String,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl FleetSettings {
    /// This replica's name.
    pub fn replica_id(&self) -> &str {
        &self.replica_id
    }
}

/// The file keys of this module.
#[derive(Debug, Default)]
pub(super) struct FleetFile {
    pub(super) replica_id: Option<String>,
    pub(super) redis_url: Option<String>,
    pub(super) redis_prefix: Option<String>,
    pub(super) change_poll_ms: Option<u64>,
}

pub(super) fn load(
    file: FleetFile,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<FleetSettings, ConfigError> {
    let set = |key: &str| env(key).filter(|v| !v.trim().is_empty());
    let replica_id = match set("MCP_GATEWAY_REPLICA_ID") {
        Some(v) => check_replica_id("MCP_GATEWAY_REPLICA_ID", v.trim())?,
        None => match file.replica_id {
            Some(v) => check_replica_id("replica_id", &v)?,
            None => default_replica_id(env("HOSTNAME"), std::process::id()),
        },
    };
    let url = set("MCP_GATEWAY_REDIS_URL")
        .map(|v| ("MCP_GATEWAY_REDIS_URL", v))
        .or(file.redis_url.map(|v| ("redis_url", v)));
    let redis = match url {
        Some((key, url)) => {
            let url = url.trim().to_owned();
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                // The value is not echoed: it may hold a password.
                return Err(ConfigError::new(key, "must be a redis:// URL"));
            }
            if url.starts_with("rediss://") {
                return Err(ConfigError::new(
                    key,
                    "rediss:// (TLS) is not supported by this build; use redis:// on a \
                     private network or a TLS sidecar",
                ));
            }
            let (prefix_key, prefix) = match set("MCP_GATEWAY_REDIS_PREFIX") {
                Some(v) => ("MCP_GATEWAY_REDIS_PREFIX", v),
                None => (
                    "redis_prefix",
                    file.redis_prefix
                        .unwrap_or_else(|| "mcp-gateway:".to_owned()),
                ),
            };
            if prefix.is_empty()
                || prefix.len() > 64
                || prefix.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(ConfigError::new(
                    prefix_key,
                    "must be 1 to 64 characters without spaces",
                ));
            }
            Some(RedisSettings { url, prefix })
        }
        None => None,
    };
    let (poll_key, poll_ms) = match set("MCP_GATEWAY_CHANGE_POLL_MS") {
        Some(v) => (
            "MCP_GATEWAY_CHANGE_POLL_MS",
            v.trim().parse::<u64>().map_err(|_| {
                ConfigError::new(
                    "MCP_GATEWAY_CHANGE_POLL_MS",
                    format!("{v:?} is not a whole number"),
                )
            })?,
        ),
        None => (
            "change_poll_ms",
            file.change_poll_ms.unwrap_or(DEFAULT_POLL_MS),
        ),
    };
    if !(50..=60_000).contains(&poll_ms) {
        return Err(ConfigError::new(
            poll_key,
            "must be between 50 and 60000 ms",
        ));
    }
    Ok(FleetSettings {
        replica_id,
        redis,
        change_poll: Duration::from_millis(poll_ms),
    })
}

fn check_replica_id(key: &str, value: &str) -> Result<String, ConfigError> {
    let valid = !value.is_empty()
        && value.len() <= MAX_REPLICA_ID
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid {
        return Err(ConfigError::new(
            key,
            "must be 1 to 64 of A-Z a-z 0-9 . _ -",
        ));
    }
    Ok(value.to_owned())
}

/// `{hostname}-{pid}` (the pod name on Kubernetes), reduced to the allowed characters.
fn default_replica_id(hostname: Option<String>, pid: u32) -> String {
    let host = hostname
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .unwrap_or_else(|| "gateway".to_owned());
    let host: String = host
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(MAX_REPLICA_ID - 11)
        .collect();
    let host = if host.is_empty() {
        "gateway".to_owned()
    } else {
        host
    };
    format!("{host}-{pid}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn defaults() {
        let s = load(FleetFile::default(), &env(&[("HOSTNAME", "gw-7f9c")])).unwrap();
        assert_eq!(s.replica_id, format!("gw-7f9c-{}", std::process::id()));
        assert!(s.redis.is_none());
        assert_eq!(s.change_poll, Duration::from_millis(250));
    }

    #[test]
    fn env_beats_file() {
        let file = FleetFile {
            replica_id: Some("from-file".into()),
            redis_url: Some("redis://file:6379".into()),
            redis_prefix: Some("file:".into()),
            change_poll_ms: Some(1000),
        };
        let s = load(
            file,
            &env(&[
                ("MCP_GATEWAY_REPLICA_ID", "a-1"),
                ("MCP_GATEWAY_REDIS_URL", "redis://:pw@10.0.0.1:6380/2"),
                ("MCP_GATEWAY_CHANGE_POLL_MS", "100"),
            ]),
        )
        .unwrap();
        assert_eq!(s.replica_id, "a-1");
        let redis = s.redis.unwrap();
        assert_eq!(redis.url, "redis://:pw@10.0.0.1:6380/2");
        assert_eq!(redis.prefix, "file:");
        assert!(
            !format!("{redis:?}").contains("pw"),
            "the URL is never printed"
        );
        assert_eq!(s.change_poll, Duration::from_millis(100));
    }

    #[test]
    fn bad_values_name_their_key() {
        for (pairs, key) in [
            (
                &[("MCP_GATEWAY_REPLICA_ID", "has space")][..],
                "MCP_GATEWAY_REPLICA_ID",
            ),
            (
                &[("MCP_GATEWAY_REDIS_URL", "http://x:secret@h")][..],
                "MCP_GATEWAY_REDIS_URL",
            ),
            (
                &[("MCP_GATEWAY_REDIS_URL", "rediss://h")][..],
                "MCP_GATEWAY_REDIS_URL",
            ),
            (
                &[
                    ("MCP_GATEWAY_REDIS_URL", "redis://h"),
                    ("MCP_GATEWAY_REDIS_PREFIX", "a b"),
                ][..],
                "MCP_GATEWAY_REDIS_PREFIX",
            ),
            (
                &[("MCP_GATEWAY_CHANGE_POLL_MS", "10")][..],
                "MCP_GATEWAY_CHANGE_POLL_MS",
            ),
            (
                &[("MCP_GATEWAY_CHANGE_POLL_MS", "soon")][..],
                "MCP_GATEWAY_CHANGE_POLL_MS",
            ),
        ] {
            let pairs: &'static [(&'static str, &'static str)] = pairs;
            let e = load(FleetFile::default(), &env(pairs)).unwrap_err();
            assert_eq!(e.key(), key, "{pairs:?}");
            assert!(!e.to_string().contains("secret"), "{e}");
        }
        let e = load(
            FleetFile {
                replica_id: Some("x".repeat(65)),
                ..FleetFile::default()
            },
            &env(&[]),
        )
        .unwrap_err();
        assert_eq!(e.key(), "replica_id");
    }

    #[test]
    fn the_file_keys_reach_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.json");
        std::fs::write(
            &path,
            r#"{"replica_id": "r-1", "redis_url": "redis://127.0.0.1:6379", "redis_prefix": "p:", "change_poll_ms": 500}"#,
        )
        .unwrap();
        let overrides = crate::config::Overrides {
            config_file: Some(path),
            ..Default::default()
        };
        let s = crate::config::Settings::load_with_env(overrides, |_| None)
            .unwrap()
            .fleet;
        assert_eq!(s.replica_id(), "r-1");
        let redis = s.redis.unwrap();
        assert_eq!(
            (redis.url.as_str(), redis.prefix.as_str()),
            ("redis://127.0.0.1:6379", "p:")
        );
        assert_eq!(s.change_poll, Duration::from_millis(500));
    }

    #[test]
    fn default_ids_are_sanitised() {
        assert_eq!(default_replica_id(Some("web 1!".into()), 42), "web1-42");
        assert!(default_replica_id(Some(String::new()), 1).ends_with("-1"));
        assert_eq!(default_replica_id(Some("$$$".into()), 9), "gateway-9");
    }
}
