//! [`UpstreamAuthConfig`]: the wire shape of a template's upstream authentication.

use serde::{Deserialize, Serialize};

use crate::{UpstreamAuth, ValidationError};

/// The `upstream_auth` object of a template's `load_balancer` block: which credentials
/// its upstreams get on each call. It holds no secret (stored headers belong to the
/// instances and are never shown; the exchange client's secret is the issuer's, in the
/// gateway's configuration).
///
/// `{"mode": "static"}` (the default) sends each instance's stored headers;
/// `{"mode": "none"}` sends no credentials; `{"mode": "passthrough", "audience": A}`
/// forwards the client's identity-provider token when its `aud` names `A`
/// (discouraged: the upstream can replay it); `{"mode": "token_exchange", "issuer":
/// NAME, "audience": A}` exchanges it at the issuer for a token for `A` (RFC 8693).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamAuthConfig {
    /// `none`, `static` (default), `passthrough` or `token_exchange`.
    #[cfg_attr(feature = "openapi", schema(example = "token_exchange"))]
    pub mode: String,
    /// The `aud` the upstream accepts (required by `passthrough` and `token_exchange`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "https://tools.example.com/mcp"))]
    pub audience: Option<String>,
    /// Short name of the configured OAuth issuer that exchanges tokens
    /// (`token_exchange`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "corp"))]
    pub issuer: Option<String>,
    /// RFC 8707 `resource` sent with the exchange (`token_exchange`, optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// `scope` asked for in the exchange (`token_exchange`, optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl UpstreamAuthConfig {
    /// The validated settings; the error names the field (`upstream_auth.audience`).
    pub fn validate(&self) -> Result<UpstreamAuth, ValidationError> {
        UpstreamAuth::new(
            &self.mode,
            self.audience.as_deref(),
            self.issuer.as_deref(),
            self.resource.as_deref(),
            self.scope.as_deref(),
        )
    }
}

impl From<&UpstreamAuth> for UpstreamAuthConfig {
    fn from(auth: &UpstreamAuth) -> Self {
        let owned = |v: Option<&str>| v.map(str::to_owned);
        Self {
            mode: auth.mode().as_str().to_owned(),
            audience: owned(auth.audience()),
            issuer: owned(auth.issuer()),
            resource: owned(auth.resource()),
            scope: owned(auth.scope()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let wire: UpstreamAuthConfig = serde_json::from_str(
            r#"{"mode": "token_exchange", "issuer": "corp", "audience": "https://up/mcp"}"#,
        )
        .unwrap();
        let auth = wire.validate().unwrap();
        assert_eq!(UpstreamAuthConfig::from(&auth), wire);
        let e = serde_json::from_str::<UpstreamAuthConfig>(r#"{"mode": "none", "secret": "x"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `secret`"), "{e}");
    }
}
