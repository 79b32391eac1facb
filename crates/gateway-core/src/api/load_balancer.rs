//! The `load_balancer` block of a template: [`LoadBalancerConfig`] as answers show it
//! and [`LoadBalancerUpdate`], the partial update that `PUT` and the configuration file
//! send (validated here, into `LoadBalancerSettings`).

use serde::{Deserialize, Serialize};

use super::upstream_auth::UpstreamAuthConfig;
use super::upstream_limits::UpstreamLimitsConfig;
use super::upstream_tls::{UpstreamTlsConfig, nullable};
use crate::{LoadBalancerSettings, Strategy};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SessionMode;

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
