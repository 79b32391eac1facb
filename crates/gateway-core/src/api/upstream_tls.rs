//! [`UpstreamTlsConfig`]: the wire shape of a template's upstream TLS settings.

use serde::{Deserialize, Deserializer, Serialize};

use crate::{UpstreamTls, ValidationError};

/// The `upstream_tls` object of a template's `load_balancer` block: PEM files on the
/// gateway host, read by the gateway when the settings are set and at start-up.
///
/// Upstream certificates are verified against `ca_bundle` when it is set (plus the
/// system's roots if `system_roots` is `true`), else against the system's roots. The
/// gateway presents `client_cert` to upstreams that ask for a client certificate.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTlsConfig {
    /// Absolute path of a PEM file of CA certificates to verify upstreams against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "/etc/mcp-gateway/internal-ca.pem")
    )]
    pub ca_bundle: Option<String>,
    /// Trust the system's root certificates as well as `ca_bundle` (default `false` with
    /// a `ca_bundle`, `true` without one; `false` without a `ca_bundle` is refused).
    /// Answers always carry the effective value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_roots: Option<bool>,
    /// Absolute path of a PEM file with the client certificate chain (leaf first) the
    /// gateway presents to upstreams (mTLS); needs `client_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "/etc/mcp-gateway/client.pem"))]
    pub client_cert: Option<String>,
    /// Absolute path of the PEM private key of `client_cert` (PKCS#8, PKCS#1 or SEC1).
    /// Only the path is ever shown, never the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "/etc/mcp-gateway/client.key"))]
    pub client_key: Option<String>,
}

impl UpstreamTlsConfig {
    /// The validated settings (shape only: files are read by the transport layer).
    /// The error names the field, e.g. `upstream_tls.client_key`.
    pub fn validate(&self) -> Result<UpstreamTls, ValidationError> {
        UpstreamTls::new(
            self.ca_bundle.as_deref(),
            self.system_roots,
            self.client_cert.as_deref(),
            self.client_key.as_deref(),
        )
    }
}

impl From<&UpstreamTls> for UpstreamTlsConfig {
    fn from(tls: &UpstreamTls) -> Self {
        let text = |p: &std::path::Path| p.to_string_lossy().into_owned();
        Self {
            ca_bundle: tls.ca_bundle().map(text),
            system_roots: Some(tls.system_roots()),
            client_cert: tls.client_identity().map(|i| text(i.cert())),
            client_key: tls.client_identity().map(|i| text(i.key())),
        }
    }
}

/// Deserializes an object field that distinguishes absent (`None`, via
/// `#[serde(default)]`), `null` (`Some(None)`) and an object (`Some(Some(v))`). Only an
/// object is a value: serde would also fill a struct from an array.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let Some(object) =
        Option::<serde_json::Map<String, serde_json::Value>>::deserialize(deserializer)?
    else {
        return Ok(Some(None));
    };
    T::deserialize(serde_json::Value::Object(object))
        .map(|v| Some(Some(v)))
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_tls_is_an_object_or_null() {
        use crate::api::LoadBalancerUpdate;
        let parse = |json: &str| serde_json::from_str::<LoadBalancerUpdate>(json);
        assert!(parse(r#"{"upstream_tls": [null, null]}"#).is_err());
        assert_eq!(
            parse(r#"{"upstream_tls": null}"#).unwrap().upstream_tls,
            Some(None)
        );
        assert_eq!(parse(r#"{}"#).unwrap().upstream_tls, None);
        let set = parse(r#"{"upstream_tls": {"system_roots": true}}"#).unwrap();
        assert_eq!(set.upstream_tls.unwrap().unwrap().system_roots, Some(true));
        assert!(parse(r#"{"upstream_tls": {"nope": 1}}"#).is_err());
    }

    #[test]
    fn round_trips_with_the_effective_system_roots() {
        let wire: UpstreamTlsConfig = serde_json::from_str(
            r#"{"ca_bundle": "/ca.pem", "client_cert": "/c.pem", "client_key": "/k.pem"}"#,
        )
        .unwrap();
        let tls = wire.validate().unwrap();
        let back = serde_json::to_value(UpstreamTlsConfig::from(&tls)).unwrap();
        assert_eq!(
            back,
            serde_json::json!({"ca_bundle": "/ca.pem", "system_roots": false,
                "client_cert": "/c.pem", "client_key": "/k.pem"})
        );
        let e = serde_json::from_str::<UpstreamTlsConfig>(r#"{"ca_file": "/x"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `ca_file`"), "{e}");
    }
}
