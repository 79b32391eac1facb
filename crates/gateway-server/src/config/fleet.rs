//! Running several replicas on one database: the replica's name, the shared Redis, and
//! how often the change feed is polled. Flag > environment > file > default.
//!
//! | environment | file key | default | meaning |
//! |---|---|---|---|
//! | `MCP_GATEWAY_REPLICA_ID` | `replica_id` | `{hostname}-{pid}` | this replica's name in logs, `/gateway/stats` and `/gateway/health` (1 to 64 of `A-Z a-z 0-9 . _ -`) |
//! | `MCP_GATEWAY_REDIS_URL` | `redis_url` | none | `redis://[user:password@]host:port[/db]`: rate limits, login throttling and change wake-ups shared by the fleet; without it each replica limits on its own |
//! | `MCP_GATEWAY_REDIS_PREFIX` | `redis_prefix` | `mcp-gateway:` | prefix of every Redis key and channel (two fleets on one Redis use two prefixes) |
//! | `MCP_GATEWAY_ADVERTISE_URL` | `advertise_url` | `http(s)://{bind address or hostname}:{port}` | where the other replicas reach this one (`http://10.1.2.3:8080`): requests for a dedicated or HTTP+SSE session this replica owns are forwarded there |
//! | `MCP_GATEWAY_FLEET_SECRET` | | derived from the session key (HKDF) | at least 32 bytes: the HMAC key of forwarded requests' `X-Gateway-Forwarded` header |
//! | `MCP_GATEWAY_CHANGE_POLL_MS` | `change_poll_ms` | 250 | how often the change feed reads the database's change counter (50 to 60000 ms); with PostgreSQL `LISTEN` or Redis pub/sub connected it is only a safety net, read every 5 s |

use std::time::Duration;

use gateway_auth::{MIN_HOP_SECRET_LEN, Secret};

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
    /// Where other replicas reach this one (else derived from the bound address).
    pub(crate) advertise_url: Option<String>,
    /// The forwarding HMAC key (else derived from the session key).
    pub(crate) fleet_secret: Option<Secret>,
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
    pub(super) advertise_url: Option<String>,
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
    let advertise_url = match set("MCP_GATEWAY_ADVERTISE_URL") {
        Some(v) => Some(check_advertise_url("MCP_GATEWAY_ADVERTISE_URL", &v)?),
        None => match file.advertise_url {
            Some(v) => Some(check_advertise_url("advertise_url", &v)?),
            None => None,
        },
    };
    let fleet_secret = match set("MCP_GATEWAY_FLEET_SECRET") {
        Some(v) if v.len() < MIN_HOP_SECRET_LEN => {
            return Err(ConfigError::new(
                "MCP_GATEWAY_FLEET_SECRET",
                format!(
                    "must be at least {MIN_HOP_SECRET_LEN} bytes; generate one with \
                     `openssl rand -base64 48`"
                ),
            ));
        }
        Some(v) => Some(Secret::new(v)),
        None => None,
    };
    Ok(FleetSettings {
        replica_id,
        redis,
        change_poll: Duration::from_millis(poll_ms),
        advertise_url,
        fleet_secret,
    })
}

/// `http://host[:port]` or `https://…`, nothing after the authority (a trailing `/` is
/// dropped): request paths are appended to it.
fn check_advertise_url(key: &str, value: &str) -> Result<String, ConfigError> {
    let value = value.trim().trim_end_matches('/');
    let bad = || {
        ConfigError::new(
            key,
            "must be http://host[:port] or https://host[:port] (no path), where the other \
             replicas reach this one",
        )
    };
    let uri: http::Uri = value.parse().map_err(|_| bad())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let rest_ok = uri
        .path_and_query()
        .is_none_or(|p| p.as_str().is_empty() || p == "/");
    match uri.authority() {
        Some(a) if scheme_ok && rest_ok && !a.host().is_empty() && !a.as_str().contains('@') => {
            Ok(value.to_owned())
        }
        _ => Err(bad()),
    }
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
    fn advertise_url_and_fleet_secret() {
        let s = load(
            FleetFile {
                advertise_url: Some("http://10.0.0.7:8080/".into()),
                ..FleetFile::default()
            },
            &env(&[(
                "MCP_GATEWAY_FLEET_SECRET",
                "0123456789abcdef0123456789abcdef",
            )]),
        )
        .unwrap();
        assert_eq!(s.advertise_url.as_deref(), Some("http://10.0.0.7:8080"));
        assert!(s.fleet_secret.is_some());
        let s = load(
            FleetFile::default(),
            &env(&[("MCP_GATEWAY_ADVERTISE_URL", "https://gw-0.gw:8443")]),
        )
        .unwrap();
        assert_eq!(s.advertise_url.as_deref(), Some("https://gw-0.gw:8443"));
        assert!(s.fleet_secret.is_none());
        for bad in [
            "10.0.0.7:8080",
            "ftp://h:1",
            "http://h:1/mcp",
            "http://h:1?x=1",
            "http://u:p@h:1",
            "http://",
        ] {
            let e = load(
                FleetFile {
                    advertise_url: Some(bad.into()),
                    ..FleetFile::default()
                },
                &env(&[]),
            )
            .unwrap_err();
            assert_eq!(e.key(), "advertise_url", "{bad}");
        }
        let e = load(
            FleetFile::default(),
            &env(&[("MCP_GATEWAY_FLEET_SECRET", "short")]),
        )
        .unwrap_err();
        assert_eq!(e.key(), "MCP_GATEWAY_FLEET_SECRET");
        assert!(!e.to_string().contains("short"));
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
            advertise_url: None,
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
