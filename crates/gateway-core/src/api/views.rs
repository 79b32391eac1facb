//! Response bodies of the management API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::upstream_auth::UpstreamAuthConfig;
use super::upstream_limits::UpstreamLimitsConfig;
use super::upstream_tls::{UpstreamTlsConfig, nullable};
use crate::{Instance, InstanceSpec, LoadBalancerSettings, Strategy};

/// An instance as the API shows it. Secrets are never returned: header and environment
/// values are replaced by `"<redacted>"`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceInfo {
    /// Instance id.
    pub id: String,
    /// Its template.
    pub template_name: String,
    /// `http`, `sse` or `stdio`.
    pub transport: String,
    /// Upstream URL (http/sse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Program and arguments (stdio), the predecessor's list shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Working directory (stdio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Environment variable names (values redacted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env_vars: BTreeMap<String, String>,
    /// Extra header names (values redacted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Weight.
    pub weight: u32,
    /// Metadata given at registration.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: Map<String, Value>,
    /// Health status (`unknown`, `healthy`, `unhealthy`, `starting`).
    pub status: String,
    /// Registration time, RFC 3339 UTC.
    pub created_at: String,
    /// Last change, RFC 3339 UTC.
    pub updated_at: String,
}

const REDACTED: &str = "<redacted>";

impl InstanceInfo {
    /// The API view of `instance` with the given health status name.
    pub fn new(instance: &Instance, status: &str) -> Self {
        let (endpoint, command, working_dir, env_vars, headers) = match &instance.spec {
            InstanceSpec::Http { url, headers } | InstanceSpec::Sse { url, headers } => (
                Some(url.as_str().to_owned()),
                None,
                None,
                BTreeMap::new(),
                headers
                    .iter()
                    .map(|(k, _)| (k.to_owned(), REDACTED.to_owned()))
                    .collect(),
            ),
            InstanceSpec::Stdio(cmd) => (
                None,
                Some(
                    std::iter::once(cmd.command().to_owned())
                        .chain(cmd.args().iter().cloned())
                        .collect(),
                ),
                cmd.working_dir().map(|p| p.display().to_string()),
                cmd.env()
                    .keys()
                    .map(|k| (k.clone(), REDACTED.to_owned()))
                    .collect(),
                BTreeMap::new(),
            ),
        };
        Self {
            id: instance.id.to_string(),
            template_name: instance.template.to_string(),
            transport: instance.spec.transport().as_str().to_owned(),
            endpoint,
            command,
            working_dir,
            env_vars,
            headers,
            weight: instance.weight.get(),
            metadata: instance.metadata.clone(),
            status: status.to_owned(),
            created_at: rfc3339(instance.created_at_ms),
            updated_at: rfc3339(instance.updated_at_ms),
        }
    }
}

impl InstanceInfo {
    /// The view for callers who may use an instance but not see how it is reached
    /// (non-admins): the endpoint without query string or user info
    /// (`http://host:port/path`), the command as its program's file name alone, and no
    /// working directory. Header and environment names stay (their values are always
    /// redacted).
    #[must_use]
    pub fn without_access_details(mut self) -> Self {
        if let Some(endpoint) = &mut self.endpoint {
            *endpoint = endpoint_without_secrets(endpoint);
        }
        if let Some(command) = &mut self.command {
            let program = command
                .first()
                .map(|p| program_name(p).to_owned())
                .unwrap_or_default();
            *command = vec![program];
        }
        self.working_dir = None;
        self
    }
}

/// `scheme://host:port/path` of `url`: no user info, query or fragment.
fn endpoint_without_secrets(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let host = authority.rsplit('@').next().unwrap_or_default();
    format!("{scheme}://{host}{path}")
}

/// The file name of a program path (`/usr/bin/python3` → `python3`).
fn program_name(program: &str) -> &str {
    program.rsplit(['/', '\\']).next().unwrap_or(program)
}

/// The guide's `load_balancer` block, in whole seconds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerConfig {
    /// `round_robin`, `least_connections`, `weighted`, `health_based` or `random`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "round_robin"))]
    pub strategy: Strategy,
    /// Seconds between health checks.
    pub health_check_interval: u64,
    /// Seconds before a health check times out.
    pub health_check_timeout: u64,
    /// Extra attempts on other instances.
    pub max_retries: u32,
    /// Request timeout, seconds.
    pub timeout: u64,
    /// Processes per stdio instance.
    pub pool_size: u32,
    /// Active check: `ping`, `tools_list`, or an HTTP path such as `/healthz` (absent
    /// from older servers' answers, meaning `ping`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "ping"))]
    pub health_probe: crate::HealthProbe,
    /// `shared` (clients multiplex over pooled upstream sessions) or `dedicated` (one
    /// upstream session or stdio process per client MCP session); absent from older
    /// servers' answers, meaning `shared`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "shared"))]
    pub session_mode: crate::SessionMode,
    /// Most dedicated upstream sessions of the template (1 to 10000; absent from older
    /// servers' answers, meaning 100).
    #[serde(default = "default_max_sessions")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = 100, minimum = 1, maximum = 10000)
    )]
    pub max_sessions: u32,
    /// CA bundle and client certificate for the template's HTTPS upstreams (absent: the
    /// system's roots, no client certificate; also absent for callers without the
    /// `admin` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_tls: Option<UpstreamTlsConfig>,
    /// Which credentials the template's upstreams get (absent: `static`, each
    /// instance's stored headers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_auth: Option<UpstreamAuthConfig>,
    /// How much of each instance the gateway may use at once (absent from older
    /// servers' answers, meaning the defaults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_limits: Option<UpstreamLimitsConfig>,
}

fn default_max_sessions() -> u32 {
    LoadBalancerSettings::DEFAULT_MAX_SESSIONS
}

impl From<LoadBalancerSettings> for LoadBalancerConfig {
    fn from(s: LoadBalancerSettings) -> Self {
        Self::from(&s)
    }
}

impl From<&LoadBalancerSettings> for LoadBalancerConfig {
    fn from(s: &LoadBalancerSettings) -> Self {
        Self {
            strategy: s.strategy(),
            health_check_interval: s.health_check_interval().as_secs(),
            health_check_timeout: s.health_check_timeout().as_secs(),
            max_retries: s.max_retries(),
            timeout: s.request_timeout().as_secs(),
            pool_size: s.pool_size(),
            health_probe: s.health_probe().clone(),
            session_mode: s.session_mode(),
            max_sessions: s.max_sessions(),
            upstream_tls: s.upstream_tls().map(UpstreamTlsConfig::from),
            upstream_auth: Some(s.upstream_auth())
                .filter(|a| !a.is_default())
                .map(UpstreamAuthConfig::from),
            upstream_limits: Some(UpstreamLimitsConfig::from(s.upstream_limits())),
        }
    }
}

impl LoadBalancerConfig {
    /// This view without `upstream_tls` (for callers that may not see file paths of the
    /// gateway host).
    pub fn without_upstream_tls(self) -> Self {
        Self {
            upstream_tls: None,
            ..self
        }
    }
}

/// A partial update of a template's `load_balancer` block; absent fields keep their
/// value.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerUpdate {
    /// New strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub strategy: Option<Strategy>,
    /// New health-check interval, seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::whole::option"
    )]
    pub health_check_interval: Option<u64>,
    /// New health-check timeout, seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::whole::option"
    )]
    pub health_check_timeout: Option<u64>,
    /// New retry count.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::whole::option"
    )]
    pub max_retries: Option<u32>,
    /// New request timeout, seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::whole::option"
    )]
    pub timeout: Option<u64>,
    /// New stdio pool size.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::whole::option"
    )]
    pub pool_size: Option<u32>,
    /// New health probe: `ping`, `tools_list` or an HTTP path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub health_probe: Option<crate::HealthProbe>,
    /// New session mode: `shared` or `dedicated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub session_mode: Option<crate::SessionMode>,
    /// New cap on dedicated upstream sessions (1 to 10000).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::whole::option"
    )]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10000))]
    pub max_sessions: Option<u32>,
    /// New upstream TLS settings, replacing the current ones as a whole; `null` removes
    /// them (back to the system's roots, no client certificate). The files are read and
    /// checked when set, and re-read on every such update (e.g. after a rotation).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "nullable"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<UpstreamTlsConfig>, nullable)
    )]
    pub upstream_tls: Option<Option<UpstreamTlsConfig>>,
    /// New upstream authentication, replacing the current one as a whole (`{"mode":
    /// "static"}` goes back to the default). `passthrough` and `token_exchange` need
    /// Streamable HTTP instances; `token_exchange` names an issuer configured with an
    /// exchange client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_auth: Option<UpstreamAuthConfig>,
    /// New per-instance limits, replacing the current ones as a whole (absent fields
    /// take their defaults); `null` goes back to the defaults. Changing them reconnects
    /// the template's instances.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "nullable"
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<UpstreamLimitsConfig>, nullable)
    )]
    pub upstream_limits: Option<Option<UpstreamLimitsConfig>>,
}

impl LoadBalancerUpdate {
    /// Applies the update to `current`, validating the result.
    pub fn apply(
        &self,
        current: LoadBalancerSettings,
    ) -> Result<LoadBalancerSettings, crate::ValidationError> {
        let upstream_tls = match &self.upstream_tls {
            None => current.upstream_tls().cloned(),
            Some(None) => None,
            Some(Some(tls)) => Some(tls.validate()?),
        };
        let upstream_auth = match &self.upstream_auth {
            None => current.upstream_auth().clone(),
            Some(auth) => auth.validate()?,
        };
        let upstream_limits = match &self.upstream_limits {
            None => *current.upstream_limits(),
            Some(None) => crate::UpstreamLimits::default(),
            Some(Some(limits)) => limits.validate()?,
        };
        let c = LoadBalancerConfig::from(current);
        let settings = LoadBalancerSettings::new(
            self.strategy.unwrap_or(c.strategy),
            self.health_check_interval
                .unwrap_or(c.health_check_interval),
            self.health_check_timeout.unwrap_or(c.health_check_timeout),
            self.max_retries.unwrap_or(c.max_retries),
            self.timeout.unwrap_or(c.timeout),
            self.pool_size.unwrap_or(c.pool_size),
        )?;
        settings
            .with_health_probe(self.health_probe.clone().unwrap_or(c.health_probe))
            .with_upstream_tls(upstream_tls)
            .with_upstream_auth(upstream_auth)
            .with_upstream_limits(upstream_limits)
            .with_session_mode(
                self.session_mode.unwrap_or(c.session_mode),
                self.max_sessions.unwrap_or(c.max_sessions),
            )
    }
}

/// Formats Unix milliseconds as RFC 3339 UTC (`2026-11-24T07:30:00.123Z`).
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses an RFC 3339 time (`2027-01-01T00:00:00Z`, `…T00:00:00.5+02:00`; a time
/// without an offset, as Python's `isoformat()` writes naive times, is taken as UTC)
/// into Unix milliseconds; `None` when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = b.get(start..i)?;
        if digits.is_empty() {
            return None;
        }
        for (k, d) in digits.iter().take(3).enumerate() {
            millis += i64::from(d - b'0') * [100, 10, 1][k];
        }
    }
    let offset_secs = match b.get(i..) {
        Some([] | [b'Z' | b'z']) => 0,
        Some([sign @ (b'+' | b'-'), rest @ ..]) if rest.len() == 5 && rest[2] == b':' => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            let secs = h * 3600 + m * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm), the inverse of `rfc3339`.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SessionMode;

    #[test]
    fn parses_what_it_formats_and_offsets() {
        for ms in [0, 1_795_592_400_123, 951_782_400_000, 1_800_000_000_000] {
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms));
        }
        assert_eq!(
            parse_rfc3339("2027-01-15T10:00:00+02:00"),
            Some(1_800_000_000_000)
        );
        assert_eq!(
            parse_rfc3339("2027-01-15T08:00:00"),
            Some(1_800_000_000_000)
        );
        for bad in [
            "",
            "tomorrow",
            "2027-13-01T00:00:00Z",
            "2027-01-01",
            "2027-01-01T00:00:00+2",
            "2027-01-01T00:00:00.Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_592_400_123), "2026-11-25T07:40:00.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn access_details_are_left_out_for_non_admins() {
        let info = |endpoint: Option<&str>, command: Option<&[&str]>| InstanceInfo {
            id: "i".into(),
            template_name: "t".into(),
            transport: "http".into(),
            endpoint: endpoint.map(str::to_owned),
            command: command.map(|c| c.iter().map(|s| (*s).to_owned()).collect()),
            working_dir: Some("/srv/secret".into()),
            env_vars: BTreeMap::from([("TOKEN".to_owned(), REDACTED.to_owned())]),
            headers: BTreeMap::new(),
            weight: 1,
            metadata: Map::new(),
            status: "healthy".into(),
            created_at: String::new(),
            updated_at: String::new(),
        };
        for (given, shown) in [
            (
                "https://mcp.example:8443/v1/mcp?token=s3cret&x=1",
                "https://mcp.example:8443/v1/mcp",
            ),
            ("http://user:pw@10.0.0.1:7070?key=1", "http://10.0.0.1:7070"),
            ("http://[::1]:9000/mcp#frag", "http://[::1]:9000/mcp"),
            ("http://host/mcp", "http://host/mcp"),
        ] {
            let v = info(Some(given), None).without_access_details();
            assert_eq!(v.endpoint.as_deref(), Some(shown));
            assert_eq!(v.working_dir, None);
        }
        let v = info(None, Some(&["/opt/tools/bin/server", "--token", "s3cret"]))
            .without_access_details();
        assert_eq!(v.command, Some(vec!["server".to_owned()]));
        assert_eq!(v.env_vars["TOKEN"], REDACTED);
        let v = info(None, Some(&["npx"])).without_access_details();
        assert_eq!(v.command, Some(vec!["npx".to_owned()]));
    }

    #[test]
    fn update_validates() {
        let base = LoadBalancerSettings::default();
        let up = LoadBalancerUpdate {
            strategy: Some(Strategy::Weighted),
            ..Default::default()
        };
        assert_eq!(
            up.apply(base.clone()).unwrap().strategy(),
            Strategy::Weighted
        );
        let bad = LoadBalancerUpdate {
            max_retries: Some(99),
            ..Default::default()
        };
        assert!(bad.apply(base.clone()).is_err());
    }

    #[test]
    fn session_mode_round_trips_through_the_wire_shapes() {
        let base = LoadBalancerSettings::default();
        let json = serde_json::to_value(LoadBalancerConfig::from(&base)).unwrap();
        assert_eq!(json["session_mode"], "shared");
        assert_eq!(json["max_sessions"], 100);

        // Any subset: the mode alone keeps max_sessions, and the other way round.
        let up: LoadBalancerUpdate =
            serde_json::from_str(r#"{"session_mode": "dedicated"}"#).unwrap();
        let s = up.apply(base.clone()).unwrap();
        assert_eq!(
            (s.session_mode(), s.max_sessions()),
            (SessionMode::Dedicated, 100)
        );
        let up: LoadBalancerUpdate = serde_json::from_str(r#"{"max_sessions": 7}"#).unwrap();
        let s = up.apply(s).unwrap();
        assert_eq!(
            (s.session_mode(), s.max_sessions()),
            (SessionMode::Dedicated, 7)
        );
        assert_eq!(s.strategy(), base.strategy());

        let e = LoadBalancerUpdate {
            max_sessions: Some(0),
            ..Default::default()
        }
        .apply(base.clone())
        .unwrap_err();
        assert!(
            matches!(
                e,
                crate::ValidationError::OutOfRange {
                    field: "max_sessions",
                    ..
                }
            ),
            "{e}"
        );
        let e = serde_json::from_str::<LoadBalancerUpdate>(r#"{"session_mode": "solo"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("shared, dedicated"), "{e}");

        // An older server's answer without the two keys.
        let old: LoadBalancerConfig = serde_json::from_str(
            r#"{"strategy": "round_robin", "health_check_interval": 30,
                "health_check_timeout": 10, "max_retries": 3, "timeout": 60, "pool_size": 1}"#,
        )
        .unwrap();
        assert_eq!(
            (old.session_mode, old.max_sessions),
            (SessionMode::Shared, 100)
        );
    }

    #[test]
    fn upstream_auth_is_kept_or_replaced_and_shown_unless_static() {
        let parse = |json: &str| serde_json::from_str::<LoadBalancerUpdate>(json).unwrap();
        let base = LoadBalancerSettings::default();
        let view = serde_json::to_value(LoadBalancerConfig::from(&base)).unwrap();
        assert!(
            view.get("upstream_auth").is_none(),
            "static is not shown: {view}"
        );
        let set = parse(r#"{"upstream_auth": {"mode": "passthrough", "audience": "https://up"}}"#)
            .apply(base.clone())
            .unwrap();
        let view = serde_json::to_value(LoadBalancerConfig::from(&set)).unwrap();
        assert_eq!(
            view["upstream_auth"],
            serde_json::json!({"mode": "passthrough", "audience": "https://up"})
        );
        let kept = parse(r#"{"max_retries": 1}"#).apply(set.clone()).unwrap();
        assert_eq!(kept.upstream_auth(), set.upstream_auth());
        let back = parse(r#"{"upstream_auth": {"mode": "static"}}"#)
            .apply(set)
            .unwrap();
        assert!(back.upstream_auth().is_default());
        let e = parse(r#"{"upstream_auth": {"mode": "token_exchange", "audience": "a"}}"#)
            .apply(base)
            .unwrap_err();
        assert_eq!(e.field(), Some("upstream_auth.issuer"), "{e}");
    }

    #[test]
    fn upstream_tls_is_kept_replaced_or_removed() {
        let parse = |json: &str| serde_json::from_str::<LoadBalancerUpdate>(json).unwrap();
        let base = LoadBalancerSettings::default();
        let set = parse(r#"{"upstream_tls": {"ca_bundle": "/etc/ca.pem"}}"#)
            .apply(base.clone())
            .unwrap();
        let tls = set.upstream_tls().unwrap();
        assert_eq!(tls.ca_bundle(), Some(std::path::Path::new("/etc/ca.pem")));
        assert!(!tls.system_roots());
        let view = serde_json::to_value(LoadBalancerConfig::from(&set)).unwrap();
        assert_eq!(
            view["upstream_tls"],
            serde_json::json!({"ca_bundle": "/etc/ca.pem", "system_roots": false})
        );
        assert!(
            serde_json::to_value(LoadBalancerConfig::from(&set).without_upstream_tls())
                .unwrap()
                .get("upstream_tls")
                .is_none()
        );

        // Absent: kept, whatever else changes.
        let kept = parse(r#"{"max_retries": 1}"#).apply(set.clone()).unwrap();
        assert_eq!(kept.upstream_tls(), set.upstream_tls());
        // An object replaces the whole block.
        let replaced =
            parse(r#"{"upstream_tls": {"client_cert": "/c.pem", "client_key": "/k.pem"}}"#)
                .apply(set.clone())
                .unwrap();
        let tls = replaced.upstream_tls().unwrap();
        assert!(tls.ca_bundle().is_none() && tls.system_roots());
        assert!(tls.client_identity().is_some());
        // null, or an object that changes nothing, removes it.
        for clear in [r#"{"upstream_tls": null}"#, r#"{"upstream_tls": {}}"#] {
            let cleared = parse(clear).apply(set.clone()).unwrap();
            assert_eq!(cleared.upstream_tls(), None, "{clear}");
            assert_eq!(cleared, base);
        }
        // A round trip of the update keeps null apart from absent.
        let null = parse(r#"{"upstream_tls": null}"#);
        assert_eq!(
            serde_json::to_string(&null).unwrap(),
            r#"{"upstream_tls":null}"#
        );
        assert_eq!(
            serde_json::to_string(&LoadBalancerUpdate::default()).unwrap(),
            "{}"
        );

        let e = parse(r#"{"upstream_tls": {"ca_bundle": "ca.pem"}}"#)
            .apply(base.clone())
            .unwrap_err();
        assert_eq!(e.field(), Some("upstream_tls.ca_bundle"), "{e}");
        let e = parse(r#"{"upstream_tls": {"client_cert": "/c.pem"}}"#)
            .apply(base)
            .unwrap_err();
        assert_eq!(e.field(), Some("upstream_tls.client_key"), "{e}");
        assert!(
            serde_json::from_str::<LoadBalancerUpdate>(r#"{"upstream_tls": {"key": "/k"}}"#)
                .is_err()
        );
    }
}
