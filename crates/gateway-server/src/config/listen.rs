//! How the gateway listens: TLS, connection timeouts and the connection cap. Each key:
//! flag > environment > file > default. Durations are whole seconds.
//!
//! | flag | environment | file key | default | meaning |
//! |---|---|---|---|---|
//! | `--tls-cert FILE` | `MCP_GATEWAY_TLS_CERT` | `tls_cert` | none (plain HTTP) | PEM certificate chain, leaf first; serve HTTPS (set with the key) |
//! | `--tls-key FILE` | `MCP_GATEWAY_TLS_KEY` | `tls_key` | none | PEM private key (PKCS#8, PKCS#1 or SEC1) of the certificate |
//! | `--tls-client-ca FILE` | `MCP_GATEWAY_TLS_CLIENT_CA` | `tls_client_ca` | none | PEM CA bundle: require client certificates signed by it (mTLS) |
//! | `--behind-tls-proxy` | `MCP_GATEWAY_BEHIND_TLS_PROXY` | `behind_tls_proxy` | off | a proxy terminates TLS: no plain-HTTP warning on a non-loopback bind |
//! | | `MCP_GATEWAY_HEADER_READ_TIMEOUT` | `header_read_timeout` | 10 (1 to 3600) | from a connection's accept (TLS handshake included), or a kept-alive connection's first byte, to a complete request head |
//! | | `MCP_GATEWAY_KEEPALIVE_IDLE_TIMEOUT` | `keepalive_idle_timeout` | 75 (1 to 86400) | a connection with nothing in flight is closed after this long without a new request |
//! | | `MCP_GATEWAY_BODY_CHUNK_TIMEOUT` | `body_chunk_timeout` | 30 (1 to 3600) | longest wait for the next piece of a request body |
//! | | `MCP_GATEWAY_BODY_READ_TIMEOUT` | `body_read_timeout` | 120 (1 to 86400) | longest time to receive a whole request body |
//! | | `MCP_GATEWAY_SEND_TIMEOUT` | `send_timeout` | 60 (1 to 3600) | a client that reads nothing of a pending response (or stream) for this long is disconnected |
//! | | `MCP_GATEWAY_MAX_CONNECTIONS` | `max_connections` | 10000 (1 to 1000000) | open client connections; more wait in the listen backlog |
//! | | `MCP_GATEWAY_HTTP2_KEEPALIVE_INTERVAL` | `http2_keepalive_interval` | 30 (0 = off, to 3600) | HTTP/2 PING interval on open connections |
//! | | `MCP_GATEWAY_HTTP2_KEEPALIVE_TIMEOUT` | `http2_keepalive_timeout` | 20 (1 to 3600) | an unanswered PING closes the connection after this long |
//!
//! No timeout limits how long a response takes: an SSE stream or a long tool call stays
//! open for as long as it needs once its request has been read; only a client that stops
//! reading what is sent to it is cut (`send_timeout`). When the open-files limit
//! (`ulimit -n`) is too small for the default cap, the cap is lowered at start to fit it
//! (an explicit cap is kept, with a warning).

use std::{path::PathBuf, time::Duration};

use super::{ConfigError, boolean};

/// Listener settings: TLS files, connection timeouts and the connection cap.
#[derive(Debug, Clone)]
pub struct ListenSettings {
    pub(crate) limits: ConnLimits,
    pub(crate) tls: Option<TlsFiles>,
    pub(crate) behind_tls_proxy: bool,
}

/// Per-connection limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnLimits {
    pub(crate) header_read_timeout: Duration,
    pub(crate) keepalive_idle_timeout: Duration,
    pub(crate) body_chunk_timeout: Duration,
    pub(crate) body_read_timeout: Duration,
    pub(crate) send_timeout: Duration,
    pub(crate) max_connections: usize,
    /// Whether `max_connections` was set (else it may be lowered to fit `ulimit -n`).
    pub(crate) max_connections_explicit: bool,
    pub(crate) http2_keepalive_interval: Option<Duration>,
    pub(crate) http2_keepalive_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_read_timeout: Duration::from_secs(10),
            keepalive_idle_timeout: Duration::from_secs(75),
            body_chunk_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(120),
            send_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_connections_explicit: false,
            http2_keepalive_interval: Some(Duration::from_secs(30)),
            http2_keepalive_timeout: Duration::from_secs(20),
        }
    }
}

/// The TLS files (read, and re-read on change, by the listener).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsFiles {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    pub(crate) client_ca: Option<PathBuf>,
}

/// The listener keys of the configuration file.
#[derive(Debug, Default)]
pub(super) struct ListenFile {
    pub(super) tls_cert: Option<PathBuf>,
    pub(super) tls_key: Option<PathBuf>,
    pub(super) tls_client_ca: Option<PathBuf>,
    pub(super) behind_tls_proxy: Option<bool>,
    pub(super) header_read_timeout: Option<u64>,
    pub(super) keepalive_idle_timeout: Option<u64>,
    pub(super) body_chunk_timeout: Option<u64>,
    pub(super) body_read_timeout: Option<u64>,
    pub(super) send_timeout: Option<u64>,
    pub(super) max_connections: Option<u64>,
    pub(super) http2_keepalive_interval: Option<u64>,
    pub(super) http2_keepalive_timeout: Option<u64>,
}

/// The listener flags.
#[derive(Debug, Default)]
pub(super) struct ListenFlags {
    pub(super) tls_cert: Option<PathBuf>,
    pub(super) tls_key: Option<PathBuf>,
    pub(super) tls_client_ca: Option<PathBuf>,
    pub(super) behind_tls_proxy: bool,
}

/// Resolves the listener settings.
pub(super) fn load(
    file: ListenFile,
    flags: ListenFlags,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<ListenSettings, ConfigError> {
    let var = |key: &str| env(key).filter(|v| !v.trim().is_empty());
    // A number from the environment or the file, named by where it came from.
    let number = |env_key: &'static str,
                  file_key: &'static str,
                  file_value: Option<u64>,
                  default: u64,
                  range: std::ops::RangeInclusive<u64>|
     -> Result<(u64, bool), ConfigError> {
        let (value, key, explicit) = match var(env_key) {
            Some(v) => (
                v.trim().parse::<u64>().map_err(|_| {
                    ConfigError::new(env_key, format!("{v:?} is not a whole number"))
                })?,
                env_key,
                true,
            ),
            None => match file_value {
                Some(v) => (v, file_key, true),
                None => (default, file_key, false),
            },
        };
        if !range.contains(&value) {
            return Err(ConfigError::new(
                key,
                format!(
                    "must be between {} and {} (got {value})",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok((value, explicit))
    };
    let secs = |env_key, file_key, file_value, default: Duration, max| {
        number(env_key, file_key, file_value, default.as_secs(), 1..=max)
            .map(|(v, _)| Duration::from_secs(v))
    };
    let base = ConnLimits::default();
    let (max_connections, max_connections_explicit) = number(
        "MCP_GATEWAY_MAX_CONNECTIONS",
        "max_connections",
        file.max_connections,
        base.max_connections as u64,
        1..=1_000_000,
    )?;
    let interval = number(
        "MCP_GATEWAY_HTTP2_KEEPALIVE_INTERVAL",
        "http2_keepalive_interval",
        file.http2_keepalive_interval,
        base.http2_keepalive_interval.map_or(0, |d| d.as_secs()),
        0..=3600,
    )?
    .0;
    let limits = ConnLimits {
        header_read_timeout: secs(
            "MCP_GATEWAY_HEADER_READ_TIMEOUT",
            "header_read_timeout",
            file.header_read_timeout,
            base.header_read_timeout,
            3600,
        )?,
        keepalive_idle_timeout: secs(
            "MCP_GATEWAY_KEEPALIVE_IDLE_TIMEOUT",
            "keepalive_idle_timeout",
            file.keepalive_idle_timeout,
            base.keepalive_idle_timeout,
            86_400,
        )?,
        body_chunk_timeout: secs(
            "MCP_GATEWAY_BODY_CHUNK_TIMEOUT",
            "body_chunk_timeout",
            file.body_chunk_timeout,
            base.body_chunk_timeout,
            3600,
        )?,
        body_read_timeout: secs(
            "MCP_GATEWAY_BODY_READ_TIMEOUT",
            "body_read_timeout",
            file.body_read_timeout,
            base.body_read_timeout,
            86_400,
        )?,
        send_timeout: secs(
            "MCP_GATEWAY_SEND_TIMEOUT",
            "send_timeout",
            file.send_timeout,
            base.send_timeout,
            3600,
        )?,
        // At most 1,000,000, so it fits any usize.
        max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
        max_connections_explicit,
        http2_keepalive_interval: (interval > 0).then(|| Duration::from_secs(interval)),
        http2_keepalive_timeout: secs(
            "MCP_GATEWAY_HTTP2_KEEPALIVE_TIMEOUT",
            "http2_keepalive_timeout",
            file.http2_keepalive_timeout,
            base.http2_keepalive_timeout,
            3600,
        )?,
    };

    let path = |flag: Option<PathBuf>, env_key: &str, file_value: Option<PathBuf>| {
        flag.or_else(|| var(env_key).map(|v| PathBuf::from(v.trim())))
            .or(file_value)
            .filter(|p| !p.as_os_str().is_empty())
    };
    let cert = path(flags.tls_cert, "MCP_GATEWAY_TLS_CERT", file.tls_cert);
    let key = path(flags.tls_key, "MCP_GATEWAY_TLS_KEY", file.tls_key);
    let client_ca = path(
        flags.tls_client_ca,
        "MCP_GATEWAY_TLS_CLIENT_CA",
        file.tls_client_ca,
    );
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert,
            key,
            client_ca,
        }),
        (Some(_), None) => {
            return Err(ConfigError::new(
                "tls_key",
                "a TLS certificate is set but no key: set --tls-key (MCP_GATEWAY_TLS_KEY) too",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                "tls_cert",
                "a TLS key is set but no certificate: set --tls-cert (MCP_GATEWAY_TLS_CERT) too",
            ));
        }
        (None, None) => {
            if client_ca.is_some() {
                return Err(ConfigError::new(
                    "tls_client_ca",
                    "client certificates need TLS: set --tls-cert and --tls-key too",
                ));
            }
            None
        }
    };
    let behind_tls_proxy = flags.behind_tls_proxy
        || match var("MCP_GATEWAY_BEHIND_TLS_PROXY") {
            Some(v) => boolean("MCP_GATEWAY_BEHIND_TLS_PROXY", &v)?,
            None => file.behind_tls_proxy.unwrap_or(false),
        };
    Ok(ListenSettings {
        limits,
        tls,
        behind_tls_proxy,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    use crate::config::test_env as env;

    #[test]
    fn defaults_are_documented_values() {
        let s = load(ListenFile::default(), ListenFlags::default(), &env(&[])).unwrap();
        assert_eq!(s.limits, ConnLimits::default());
        assert_eq!(s.limits.header_read_timeout, Duration::from_secs(10));
        assert_eq!(s.limits.keepalive_idle_timeout, Duration::from_secs(75));
        assert_eq!(s.limits.body_chunk_timeout, Duration::from_secs(30));
        assert_eq!(s.limits.body_read_timeout, Duration::from_secs(120));
        assert_eq!(s.limits.send_timeout, Duration::from_secs(60));
        assert_eq!(s.limits.max_connections, 10_000);
        assert!(!s.limits.max_connections_explicit);
        assert_eq!(
            s.limits.http2_keepalive_interval,
            Some(Duration::from_secs(30))
        );
        assert!(s.tls.is_none() && !s.behind_tls_proxy);
    }

    #[test]
    fn env_beats_file() {
        let file = ListenFile {
            header_read_timeout: Some(5),
            keepalive_idle_timeout: Some(6),
            max_connections: Some(7),
            http2_keepalive_interval: Some(0),
            ..Default::default()
        };
        let s = load(
            file,
            ListenFlags::default(),
            &env(&[
                ("MCP_GATEWAY_KEEPALIVE_IDLE_TIMEOUT", "60"),
                ("MCP_GATEWAY_BODY_CHUNK_TIMEOUT", " 2 "),
                ("MCP_GATEWAY_BODY_READ_TIMEOUT", "3"),
                ("MCP_GATEWAY_SEND_TIMEOUT", "4"),
            ]),
        )
        .unwrap();
        let l = s.limits;
        assert_eq!(l.header_read_timeout, Duration::from_secs(5));
        assert_eq!(l.keepalive_idle_timeout, Duration::from_secs(60));
        assert_eq!(l.body_chunk_timeout, Duration::from_secs(2));
        assert_eq!(l.body_read_timeout, Duration::from_secs(3));
        assert_eq!(l.send_timeout, Duration::from_secs(4));
        assert_eq!((l.max_connections, l.max_connections_explicit), (7, true));
        assert_eq!(l.http2_keepalive_interval, None, "0 turns pings off");
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = |pairs: &[(&str, &str)], file: ListenFile| {
            load(file, ListenFlags::default(), &env(pairs))
                .unwrap_err()
                .key()
                .to_owned()
        };
        assert_eq!(
            err(
                &[("MCP_GATEWAY_HEADER_READ_TIMEOUT", "0")],
                ListenFile::default()
            ),
            "MCP_GATEWAY_HEADER_READ_TIMEOUT"
        );
        assert_eq!(
            err(
                &[("MCP_GATEWAY_MAX_CONNECTIONS", "lots")],
                ListenFile::default()
            ),
            "MCP_GATEWAY_MAX_CONNECTIONS"
        );
        let file = ListenFile {
            max_connections: Some(0),
            ..Default::default()
        };
        assert_eq!(err(&[], file), "max_connections");
        let file = ListenFile {
            body_read_timeout: Some(86_401),
            ..Default::default()
        };
        assert_eq!(err(&[], file), "body_read_timeout");
        assert_eq!(
            err(
                &[("MCP_GATEWAY_BEHIND_TLS_PROXY", "maybe")],
                ListenFile::default()
            ),
            "MCP_GATEWAY_BEHIND_TLS_PROXY"
        );
    }

    #[test]
    fn tls_needs_both_files_and_names_the_missing_one() {
        let flags = |cert: Option<&str>, key: Option<&str>, ca: Option<&str>| ListenFlags {
            tls_cert: cert.map(PathBuf::from),
            tls_key: key.map(PathBuf::from),
            tls_client_ca: ca.map(PathBuf::from),
            behind_tls_proxy: false,
        };
        let load = |f, pairs: &[(&str, &str)]| load(ListenFile::default(), f, &env(pairs));
        let e = load(flags(Some("c.pem"), None, None), &[]).unwrap_err();
        assert_eq!(e.key(), "tls_key");
        assert!(e.to_string().contains("--tls-key"), "{e}");
        let e = load(flags(None, None, None), &[("MCP_GATEWAY_TLS_KEY", "k.pem")]).unwrap_err();
        assert_eq!(e.key(), "tls_cert");
        let e = load(flags(None, None, Some("ca.pem")), &[]).unwrap_err();
        assert_eq!(e.key(), "tls_client_ca");
        let s = load(
            flags(Some("c.pem"), None, None),
            &[
                ("MCP_GATEWAY_TLS_KEY", "k.pem"),
                ("MCP_GATEWAY_TLS_CERT", "ignored.pem"),
                ("MCP_GATEWAY_TLS_CLIENT_CA", "ca.pem"),
            ],
        )
        .unwrap();
        assert_eq!(
            s.tls,
            Some(TlsFiles {
                cert: "c.pem".into(),
                key: "k.pem".into(),
                client_ca: Some("ca.pem".into()),
            }),
            "the flag wins over the environment"
        );
    }

    #[test]
    fn the_file_keys_and_the_flags_reach_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gw.json");
        std::fs::write(
            &path,
            r#"{"header_read_timeout": 5, "keepalive_idle_timeout": 6, "body_chunk_timeout": 7,
                "body_read_timeout": 8, "send_timeout": 9, "max_connections": 10,
                "http2_keepalive_interval": 11, "http2_keepalive_timeout": 12,
                "tls_cert": "c.pem", "tls_key": "k.pem", "behind_tls_proxy": true}"#,
        )
        .unwrap();
        let overrides = crate::config::Overrides {
            config_file: Some(path),
            tls_key: Some("flag.key".into()),
            ..Default::default()
        };
        let s = crate::config::Settings::load_with_env(overrides, |_| None)
            .unwrap()
            .listen;
        let secs = Duration::from_secs;
        let l = &s.limits;
        assert_eq!(
            (
                l.header_read_timeout,
                l.keepalive_idle_timeout,
                l.body_chunk_timeout
            ),
            (secs(5), secs(6), secs(7))
        );
        assert_eq!((l.body_read_timeout, l.send_timeout), (secs(8), secs(9)));
        assert_eq!((l.max_connections, l.max_connections_explicit), (10, true));
        assert_eq!(
            (l.http2_keepalive_interval, l.http2_keepalive_timeout),
            (Some(secs(11)), secs(12))
        );
        let tls = s.tls.unwrap();
        assert_eq!((tls.cert, tls.key), ("c.pem".into(), "flag.key".into()));
        assert!(s.behind_tls_proxy);
    }

    #[test]
    fn behind_tls_proxy_from_flag_env_or_file() {
        let on = |flag: bool, pairs: &[(&str, &str)], file: Option<bool>| {
            let f = ListenFile {
                behind_tls_proxy: file,
                ..Default::default()
            };
            let flags = ListenFlags {
                behind_tls_proxy: flag,
                ..Default::default()
            };
            load(f, flags, &env(pairs)).unwrap().behind_tls_proxy
        };
        assert!(!on(false, &[], None));
        assert!(on(true, &[], None));
        assert!(on(false, &[("MCP_GATEWAY_BEHIND_TLS_PROXY", "1")], None));
        assert!(on(false, &[], Some(true)));
        assert!(!on(
            false,
            &[("MCP_GATEWAY_BEHIND_TLS_PROXY", "0")],
            Some(true)
        ));
    }
}
