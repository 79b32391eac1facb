//! Configuration: a JSON file (the guide's `{"templates": {...}}` plus gateway keys), then
//! `MCP_GATEWAY_*` environment variables, then command-line flags; each layer overrides
//! the one before. [`Settings::load`] validates everything once and names the key at
//! fault.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use gateway_core::{LoadBalancerSettings, Strategy};
use serde::Deserialize;

/// Values given on the command line (highest precedence).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config FILE` (else `MCP_GATEWAY_REGISTRY_FILE`).
    pub config_file: Option<PathBuf>,
    /// `--host`.
    pub host: Option<String>,
    /// `--port`.
    pub port: Option<u16>,
    /// `--database URL`.
    pub database_url: Option<String>,
    /// `--log-level`.
    pub log_level: Option<String>,
    /// `--log-format json|text` (else `MCP_GATEWAY_LOG_FORMAT`, the file's `log_format`,
    /// or json when stderr is not a terminal).
    pub log_format: Option<String>,
    /// `--metrics-addr HOST:PORT`: also serve `GET /metrics` there, without
    /// authentication (else `MCP_GATEWAY_METRICS_ADDR`, the file's `metrics_addr`).
    pub metrics_addr: Option<String>,
    /// `--auth` (else `MCP_GATEWAY_AUTH`, the file's `auth`, or off).
    pub auth: Option<bool>,
    /// `--insecure-no-auth`: allow a non-loopback bind without authentication.
    pub insecure_no_auth: bool,
    /// `--shutdown-grace SECONDS` (else `MCP_GATEWAY_SHUTDOWN_GRACE`, the file's
    /// `shutdown_grace`, or 30).
    pub shutdown_grace: Option<u64>,
    /// `--tls-cert FILE` (else `MCP_GATEWAY_TLS_CERT`, the file's `tls_cert`).
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key FILE` (else `MCP_GATEWAY_TLS_KEY`, the file's `tls_key`).
    pub tls_key: Option<PathBuf>,
    /// `--tls-client-ca FILE` (else `MCP_GATEWAY_TLS_CLIENT_CA`, the file's `tls_client_ca`).
    pub tls_client_ca: Option<PathBuf>,
    /// `--behind-tls-proxy`: a proxy terminates TLS (no plain-HTTP warning).
    pub behind_tls_proxy: bool,
}

/// A configuration value that cannot be used. `Display` names the key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {key}: {message}")]
pub struct ConfigError {
    key: String,
    message: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, message: impl ToString) -> Self {
        Self {
            key: key.into(),
            message: message.to_string(),
        }
    }

    /// The configuration key at fault (file key, env var or flag).
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// The file format. Unknown keys are errors, so typos do not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    host: Option<String>,
    port: Option<u16>,
    database_url: Option<String>,
    log_level: Option<String>,
    log_format: Option<String>,
    metrics_addr: Option<String>,
    metrics: Option<bool>,
    default_strategy: Option<String>,
    health_check_interval: Option<u64>,
    health_check_timeout: Option<u64>,
    max_retries: Option<u32>,
    request_timeout: Option<u64>,
    max_message_size: Option<usize>,
    unhealthy_threshold: Option<u32>,
    healthy_threshold: Option<u32>,
    failure_threshold: Option<u32>,
    health_probe: Option<String>,
    auth: Option<bool>,
    jwt_secret: Option<String>,
    jwt_expiry: Option<u64>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    allow_stdio_registration: Option<bool>,
    endpoint_allowlist: Option<Vec<String>>,
    trusted_proxies: Option<Vec<String>>,
    rate_limit_user: Option<u32>,
    rate_limit_admin: Option<u32>,
    shutdown_grace: Option<u64>,
    // Listener (config/listen.rs).
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
    behind_tls_proxy: Option<bool>,
    header_read_timeout: Option<u64>,
    keepalive_idle_timeout: Option<u64>,
    body_chunk_timeout: Option<u64>,
    body_read_timeout: Option<u64>,
    send_timeout: Option<u64>,
    max_connections: Option<u64>,
    http2_keepalive_interval: Option<u64>,
    http2_keepalive_timeout: Option<u64>,
    public_url: Option<String>,
    oauth_issuers: Option<Vec<oauth::IssuerFile>>,
    // Fleet (config/fleet.rs).
    replica_id: Option<String>,
    redis_url: Option<String>,
    redis_prefix: Option<String>,
    change_poll_ms: Option<u64>,
    advertise_url: Option<String>,
    #[serde(default)]
    templates: BTreeMap<String, templates::TemplateFile>,
}

/// Validated runtime settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to bind.
    pub host: String,
    /// Port to bind (0 = any free port).
    pub port: u16,
    /// sea-orm database URL.
    pub database_url: String,
    /// tracing filter directive, e.g. `info`.
    pub log_level: String,
    /// The log line format; `None`: json when stderr is not a terminal, else text.
    pub log_format: Option<LogFormat>,
    /// A listener of its own for `GET /metrics`, without authentication.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Whether calls and HTTP requests are timed and counted for `/metrics`
    /// (`MCP_GATEWAY_METRICS`, file key `metrics`; default on).
    pub metrics: bool,
    /// Settings new templates start with.
    pub template_defaults: LoadBalancerSettings,
    /// Largest accepted request body and upstream message, bytes.
    pub max_message_size: usize,
    /// Templates from the configuration file.
    pub seed: Vec<SeedTemplate>,
    /// Health thresholds and circuit-breaker back-off.
    pub health_policy: gateway_health::HealthPolicy,
    /// Authentication and registration policy.
    pub auth: AuthSettings,
    /// Native MCP endpoints: session keys, naming, timeouts.
    pub mcp: McpSettings,
    /// What browsers may do: Host and Origin allowlists, CORS (every route).
    pub browser: BrowserSettings,
    /// How long shutdown lets in-flight requests finish before cutting them off.
    pub shutdown_grace: Duration,
    /// TLS, connection timeouts and the connection cap.
    pub listen: ListenSettings,
    /// Replica id, shared Redis, change feed.
    pub fleet: FleetSettings,
}

impl Settings {
    /// Loads file < environment < `overrides`, reading the process environment.
    pub fn load(overrides: Overrides) -> Result<Settings, ConfigError> {
        Self::load_with_env(overrides, |key| std::env::var(key).ok())
    }

    /// Like [`Settings::load`] with an explicit environment (for tests).
    pub fn load_with_env(
        overrides: Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let file_path = overrides.config_file.clone().or_else(|| {
            env("MCP_GATEWAY_REGISTRY_FILE")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        });
        let file = match &file_path {
            Some(path) => read_file(path)?,
            None => ConfigFile::default(),
        };
        let env_parse = |key: &str| -> Result<Option<u64>, ConfigError> {
            env(key)
                .filter(|v| !v.trim().is_empty())
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| ConfigError::new(key, format!("{v:?} is not a whole number")))
                })
                .transpose()
        };

        let host = overrides
            .host
            .or_else(|| env("MCP_GATEWAY_HOST"))
            .or(file.host)
            .unwrap_or_else(|| "127.0.0.1".to_owned());
        let port = match overrides.port {
            Some(p) => p,
            None => match env_parse("MCP_GATEWAY_PORT")? {
                Some(p) => u16::try_from(p)
                    .map_err(|_| ConfigError::new("MCP_GATEWAY_PORT", "must be at most 65535"))?,
                None => file.port.unwrap_or(8080),
            },
        };
        let database_url = overrides
            .database_url
            .or_else(|| env("MCP_GATEWAY_DATABASE_URL").filter(|v| !v.is_empty()))
            .or(file.database_url)
            .unwrap_or_else(gateway_store::default_database_url);
        let log_level = match (
            overrides.log_level,
            env("MCP_GATEWAY_LOG_LEVEL"),
            file.log_level,
        ) {
            (Some(v), ..) => checked_log_level("--log-level", v)?,
            (None, Some(v), _) => checked_log_level("MCP_GATEWAY_LOG_LEVEL", v)?,
            (None, None, Some(v)) => checked_log_level("log_level", v)?,
            (None, None, None) => "info".to_owned(),
        };
        let log_format = match overrides.log_format {
            Some(v) => Some(LogFormat::parse("--log-format", &v)?),
            None => match env("MCP_GATEWAY_LOG_FORMAT").filter(|v| !v.is_empty()) {
                Some(v) => Some(LogFormat::parse("MCP_GATEWAY_LOG_FORMAT", &v)?),
                None => file
                    .log_format
                    .as_deref()
                    .map(|v| LogFormat::parse("log_format", v))
                    .transpose()?,
            },
        };
        let (key, metrics_addr) = match overrides.metrics_addr {
            Some(v) => ("--metrics-addr", Some(v)),
            None => match env("MCP_GATEWAY_METRICS_ADDR").filter(|v| !v.is_empty()) {
                Some(v) => ("MCP_GATEWAY_METRICS_ADDR", Some(v)),
                None => ("metrics_addr", file.metrics_addr),
            },
        };
        let metrics = match env("MCP_GATEWAY_METRICS").filter(|v| !v.trim().is_empty()) {
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                _ => {
                    return Err(ConfigError::new(
                        "MCP_GATEWAY_METRICS",
                        "expected on or off",
                    ));
                }
            },
            None => file.metrics.unwrap_or(true),
        };
        let metrics_addr = metrics_addr
            .map(|v| {
                v.parse::<std::net::SocketAddr>().map_err(|_| {
                    ConfigError::new(key, "expected an IP address and port, e.g. 127.0.0.1:9464")
                })
            })
            .transpose()?;

        let base = LoadBalancerSettings::default();
        let strategy = match env("MCP_GATEWAY_DEFAULT_STRATEGY").filter(|v| !v.is_empty()) {
            Some(v) => v
                .parse::<Strategy>()
                .map_err(|e| ConfigError::new("MCP_GATEWAY_DEFAULT_STRATEGY", e))?,
            None => match &file.default_strategy {
                Some(v) => v
                    .parse::<Strategy>()
                    .map_err(|e| ConfigError::new("default_strategy", e))?,
                None => base.strategy(),
            },
        };
        let pick =
            |env_key: &str, file_value: Option<u64>, default: u64| -> Result<u64, ConfigError> {
                Ok(env_parse(env_key)?.unwrap_or(file_value.unwrap_or(default)))
            };
        let interval = pick(
            "MCP_GATEWAY_HEALTH_INTERVAL",
            file.health_check_interval,
            base.health_check_interval().as_secs(),
        )?;
        let timeout = pick(
            "MCP_GATEWAY_HEALTH_TIMEOUT",
            file.health_check_timeout,
            base.health_check_timeout().as_secs(),
        )?;
        let retries = pick(
            "MCP_GATEWAY_MAX_RETRIES",
            file.max_retries.map(u64::from),
            u64::from(base.max_retries()),
        )?;
        let request_timeout = pick(
            "MCP_GATEWAY_REQUEST_TIMEOUT",
            file.request_timeout,
            base.request_timeout().as_secs(),
        )?;
        let retries = u32::try_from(retries)
            .map_err(|_| ConfigError::new("MCP_GATEWAY_MAX_RETRIES", "is too large"))?;
        let template_defaults = LoadBalancerSettings::new(
            strategy,
            interval,
            timeout,
            retries,
            request_timeout,
            base.pool_size(),
        )
        .map_err(|e| ConfigError::new(defaults_key(&e), e))?;

        let max_message_size = match env_parse("MCP_GATEWAY_MAX_MESSAGE_SIZE")? {
            Some(v) => usize::try_from(v).unwrap_or(usize::MAX),
            None => file.max_message_size.unwrap_or(16 * 1024 * 1024),
        };
        if !(1024..=1024 * 1024 * 1024).contains(&max_message_size) {
            return Err(ConfigError::new(
                "max_message_size",
                "must be between 1 KiB and 1 GiB",
            ));
        }

        let mut health_policy = gateway_health::HealthPolicy::default();
        for (env_key, file_value, slot) in [
            (
                "MCP_GATEWAY_UNHEALTHY_THRESHOLD",
                file.unhealthy_threshold,
                &mut health_policy.unhealthy_threshold,
            ),
            (
                "MCP_GATEWAY_HEALTHY_THRESHOLD",
                file.healthy_threshold,
                &mut health_policy.healthy_threshold,
            ),
            (
                "MCP_GATEWAY_FAILURE_THRESHOLD",
                file.failure_threshold,
                &mut health_policy.failure_threshold,
            ),
        ] {
            let value = match env_parse(env_key)? {
                Some(v) => u32::try_from(v).unwrap_or(u32::MAX),
                None => file_value.unwrap_or(*slot),
            };
            if !(1..=100).contains(&value) {
                return Err(ConfigError::new(env_key, "must be between 1 and 100"));
            }
            *slot = value;
        }
        // The probe new templates start with (each template can change its own).
        let template_defaults = match env("MCP_GATEWAY_HEALTH_PROBE")
            .filter(|v| !v.is_empty())
            .or(file.health_probe)
        {
            Some(v) => template_defaults.with_health_probe(
                v.parse()
                    .map_err(|e| ConfigError::new("MCP_GATEWAY_HEALTH_PROBE", e))?,
            ),
            None => template_defaults,
        };

        let seed = templates::load(file.templates, &template_defaults)?;
        let auth_file = auth::AuthFile {
            auth: file.auth,
            jwt_secret: file.jwt_secret,
            jwt_expiry: file.jwt_expiry,
            jwt_issuer: file.jwt_issuer,
            jwt_audience: file.jwt_audience,
            allow_stdio_registration: file.allow_stdio_registration,
            endpoint_allowlist: file.endpoint_allowlist,
            trusted_proxies: file.trusted_proxies,
            rate_limit_user: file.rate_limit_user,
            rate_limit_admin: file.rate_limit_admin,
        };
        let mut auth = auth::load(auth_file, overrides.auth, overrides.insecure_no_auth, &env)?;
        auth.oauth = oauth::load(
            file.public_url,
            file.oauth_issuers,
            auth.enabled,
            &host,
            &auth.config.issuer,
            &env,
        )?;
        let mcp = mcp::load(&env)?;
        let browser = browser::load(&host, &env)?;
        let shutdown_grace = shutdown::load(overrides.shutdown_grace, file.shutdown_grace, &env)?;
        let listen = listen::load(
            listen::ListenFile {
                tls_cert: file.tls_cert,
                tls_key: file.tls_key,
                tls_client_ca: file.tls_client_ca,
                behind_tls_proxy: file.behind_tls_proxy,
                header_read_timeout: file.header_read_timeout,
                keepalive_idle_timeout: file.keepalive_idle_timeout,
                body_chunk_timeout: file.body_chunk_timeout,
                body_read_timeout: file.body_read_timeout,
                send_timeout: file.send_timeout,
                max_connections: file.max_connections,
                http2_keepalive_interval: file.http2_keepalive_interval,
                http2_keepalive_timeout: file.http2_keepalive_timeout,
            },
            listen::ListenFlags {
                tls_cert: overrides.tls_cert,
                tls_key: overrides.tls_key,
                tls_client_ca: overrides.tls_client_ca,
                behind_tls_proxy: overrides.behind_tls_proxy,
            },
            &env,
        )?;
        let fleet = fleet::load(
            fleet::FleetFile {
                replica_id: file.replica_id,
                redis_url: file.redis_url,
                redis_prefix: file.redis_prefix,
                change_poll_ms: file.change_poll_ms,
                advertise_url: file.advertise_url,
            },
            &env,
        )?;
        Ok(Settings {
            host,
            port,
            database_url,
            log_level,
            log_format,
            metrics_addr,
            metrics,
            template_defaults,
            max_message_size,
            seed,
            health_policy,
            auth,
            mcp,
            browser,
            shutdown_grace,
            listen,
            fleet,
        })
    }

    /// The tracing filter directive.
    pub fn log_level(&self) -> &str {
        &self.log_level
    }

    /// The configured log format (`None`: chosen by whether stderr is a terminal).
    pub fn log_format(&self) -> Option<LogFormat> {
        self.log_format
    }

    /// Transport options derived from these settings.
    pub(crate) fn transport_options(&self) -> gateway_transport::Options {
        gateway_transport::Options {
            request_timeout: self.template_defaults.request_timeout(),
            connect_timeout: Duration::from_secs(10).min(self.template_defaults.request_timeout()),
            max_message_size: self.max_message_size,
            ..gateway_transport::Options::default()
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (for log collectors).
    Json,
    /// Human-readable text.
    Text,
}

impl LogFormat {
    fn parse(key: &str, value: &str) -> Result<LogFormat, ConfigError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(LogFormat::Json),
            "text" => Ok(LogFormat::Text),
            _ => Err(ConfigError::new(key, "expected json or text")),
        }
    }
}

fn defaults_key(e: &gateway_core::ValidationError) -> &'static str {
    match e {
        gateway_core::ValidationError::OutOfRange { field, .. } => match *field {
            "health_check_interval" => "MCP_GATEWAY_HEALTH_INTERVAL",
            "health_check_timeout" => "MCP_GATEWAY_HEALTH_TIMEOUT",
            "max_retries" => "MCP_GATEWAY_MAX_RETRIES",
            "timeout" => "MCP_GATEWAY_REQUEST_TIMEOUT",
            other => other,
        },
        _ => "load_balancer",
    }
}

/// Whether `host` is a loopback address (`localhost`, `127.0.0.0/8`, `::1`).
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A boolean setting: `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`.
pub(crate) fn boolean(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::new(
            key,
            format!("{value:?} is not a boolean (use 1 or 0)"),
        )),
    }
}

/// A log level (`error`, `warn`, `info`, `debug`, `trace`, `off`, any case) or a
/// tracing filter with targets (`info,gateway_server=debug`). A bare word that is
/// neither would be read as a target name and silence every log line, so it is refused.
fn checked_log_level(key: &str, value: String) -> Result<String, ConfigError> {
    const LEVELS: [&str; 7] = ["error", "warn", "warning", "info", "debug", "trace", "off"];
    let word = value.trim();
    let is_level = LEVELS.iter().any(|l| l.eq_ignore_ascii_case(word));
    let is_filter = word.contains(['=', ',']);
    if is_level {
        Ok(word.to_ascii_lowercase().replace("warning", "warn"))
    } else if is_filter {
        Ok(word.to_owned())
    } else {
        Err(ConfigError::new(
            key,
            format!(
                "unknown log level {:?}: use error, warn, info, debug, trace or off (or a filter such as info,gateway_server=debug)",
                word.chars().take(40).collect::<String>()
            ),
        ))
    }
}

/// Reads and parses the file; a bad value is reported under its JSON path (`port`,
/// `templates.x.load_balancer.strategy`), anything else under the file's name.
fn read_file(path: &PathBuf) -> Result<ConfigFile, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&file, format!("cannot read: {e}")))?;
    let mut de = serde_json::Deserializer::from_str(&text);
    let parsed: ConfigFile = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        match key.as_str() {
            // Top-level problems (syntax, unknown keys): the message says which.
            "." | "" | "?" => ConfigError::new(&file, inner),
            _ => ConfigError::new(key, format!("{inner} (in {file})")),
        }
    })?;
    de.end().map_err(|e| ConfigError::new(&file, e))?;
    Ok(parsed)
}

/// A fixed environment for tests: `vars` and nothing else.
#[cfg(test)]
pub(crate) fn test_env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: std::collections::HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| vars.get(k).cloned()
}

mod auth;
mod browser;
mod fleet;
mod listen;
mod mcp;
mod oauth;
mod shutdown;
mod templates;

pub use auth::AuthSettings;
pub use browser::BrowserSettings;
pub use fleet::FleetSettings;
pub use listen::ListenSettings;
pub(crate) use listen::{ConnLimits, TlsFiles};
pub(crate) use mcp::McpLimits;
pub use mcp::McpSettings;
pub use oauth::OAuthSettings;
pub use templates::SeedTemplate;

#[cfg(test)]
mod file_properties;
#[cfg(test)]
mod tests;
