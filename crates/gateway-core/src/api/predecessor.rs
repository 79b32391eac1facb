//! Bodies of the predecessor's own clients, accepted on the routes it had: the fields
//! its models send that the guide's shapes do not have are mapped where they mean
//! something here and ignored where they describe state the gateway keeps itself (an
//! instance's `status`, `backend`, counters, timestamps). Anything else is still
//! refused. The guide's routes keep the strict shapes.
//!
//! - [`LegacyRegisterInstance`]: `POST /gateway/templates/{t}/instances` (the
//!   predecessor's `ServerInstanceCreate`).
//! - [`CreateApiKeyBody`]: `POST /auth/api-keys` (the predecessor's `APIKeyCreate`:
//!   `description`, `is_active`, `expires_at`, `user_id`).

use std::collections::BTreeMap;

use serde::{Deserialize, de::IgnoredAny};
use serde_json::{Map, Value};

use super::{CommandLine, CreateApiKey, FieldError, RegisterInstance};

/// The registration body of `POST /gateway/templates/{t}/instances`: the guide's
/// fields, plus the predecessor's `instance_metadata` (the guide's `metadata`) and
/// its instance state fields, which are ignored (the gateway probes instances itself).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyRegisterInstance {
    /// As in [`RegisterInstance`].
    #[serde(default)]
    pub template_name: Option<String>,
    /// As in [`RegisterInstance`] (`id` in the predecessor's model).
    #[serde(default, alias = "id")]
    pub instance_id: Option<String>,
    /// As in [`RegisterInstance`].
    #[serde(default)]
    pub endpoint: Option<String>,
    /// As in [`RegisterInstance`].
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub command: Option<CommandLine>,
    /// As in [`RegisterInstance`].
    #[serde(default)]
    pub args: Option<Vec<String>>,
    /// As in [`RegisterInstance`].
    #[serde(default)]
    pub working_dir: Option<String>,
    /// As in [`RegisterInstance`] (`env_vars` in the predecessor's model).
    #[serde(default, alias = "env_vars")]
    pub env: Option<BTreeMap<String, String>>,
    /// As in [`RegisterInstance`].
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// As in [`RegisterInstance`].
    #[serde(default)]
    pub transport: Option<String>,
    /// As in [`RegisterInstance`].
    #[serde(default, deserialize_with = "super::whole::option")]
    pub weight: Option<i64>,
    /// As in [`RegisterInstance`].
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<Map<String, Value>>,
    /// The predecessor's name for `metadata`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub instance_metadata: Option<Map<String, Value>>,
    /// The predecessor's enable flag: `true` (or absent) only; the gateway has no
    /// registered-but-disabled instances (deregister instead).
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Ignored: the gateway's probes decide an instance's status.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub status: Option<IgnoredAny>,
    /// Ignored (the predecessor's deployment backend: docker, kubernetes, ...).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub backend: Option<IgnoredAny>,
    /// Ignored (the predecessor's deployment bookkeeping).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub container_id: Option<IgnoredAny>,
    /// Ignored (the predecessor's deployment bookkeeping).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub deployment_id: Option<IgnoredAny>,
    /// Ignored (the predecessor's deployment bookkeeping).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub namespace: Option<IgnoredAny>,
    /// Ignored: the gateway keeps its own health records.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub last_health_check: Option<IgnoredAny>,
    /// Ignored: the gateway keeps its own health records.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub consecutive_failures: Option<IgnoredAny>,
    /// Ignored: the gateway stamps its own records.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub created_at: Option<IgnoredAny>,
    /// Ignored: the gateway stamps its own records.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub updated_at: Option<IgnoredAny>,
}

impl LegacyRegisterInstance {
    /// The guide's registration body this says (the error names the field).
    pub fn into_registration(self) -> Result<RegisterInstance, FieldError> {
        if self.is_active == Some(false) {
            return Err(FieldError::new(
                "is_active",
                "inactive instances are not kept: leave it out (or true), and deregister an instance to take it out of service",
            ));
        }
        if self.metadata.is_some() && self.instance_metadata.is_some() {
            return Err(FieldError::new(
                "instance_metadata",
                "give metadata or instance_metadata, not both",
            ));
        }
        Ok(RegisterInstance {
            template_name: self.template_name,
            instance_id: self.instance_id,
            endpoint: self.endpoint,
            command: self.command,
            args: self.args,
            working_dir: self.working_dir,
            env: self.env,
            headers: self.headers,
            transport: self.transport,
            weight: self.weight,
            metadata: self.metadata.or(self.instance_metadata),
        })
    }
}

/// The body of `POST /auth/api-keys`: the guide's [`CreateApiKey`] fields, plus the
/// predecessor's `description` (ignored), `is_active` (`true` only), `expires_at` (an
/// RFC 3339 time, turned into `expires_in`) and `user_id` (ignored: a key belongs to
/// `owner`, default the caller).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyBody {
    /// As in [`CreateApiKey`].
    pub name: String,
    /// As in [`CreateApiKey`].
    #[serde(default)]
    pub owner: Option<String>,
    /// As in [`CreateApiKey`].
    #[serde(default)]
    pub role: Option<String>,
    /// As in [`CreateApiKey`].
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// As in [`CreateApiKey`].
    #[serde(default)]
    pub templates: Option<Vec<String>>,
    /// As in [`CreateApiKey`].
    #[serde(default, deserialize_with = "super::whole::option")]
    pub expires_in: Option<u64>,
    /// As in [`CreateApiKey`].
    #[serde(default, deserialize_with = "super::whole::option")]
    pub rate_limit: Option<u32>,
    /// The predecessor's free text about the key: accepted and not stored.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub description: Option<IgnoredAny>,
    /// The predecessor's enable flag: `true` (or absent) only.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// The predecessor's expiry, an RFC 3339 time (`2027-01-01T00:00:00Z`); give it or
    /// `expires_in`, not both.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The predecessor's numeric owner id: accepted and ignored (the key belongs to
    /// `owner`, default the caller).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub user_id: Option<IgnoredAny>,
}

impl CreateApiKeyBody {
    /// The guide's request this says, at `now_ms` (Unix milliseconds); the error names
    /// the field.
    pub fn into_request(self, now_ms: i64) -> Result<CreateApiKey, FieldError> {
        if self.is_active == Some(false) {
            return Err(FieldError::new(
                "is_active",
                "a key is active from creation: leave it out (or true), and revoke a key to disable it",
            ));
        }
        let expires_in = match (self.expires_in, self.expires_at.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(FieldError::new(
                    "expires_at",
                    "give expires_in or expires_at, not both",
                ));
            }
            (Some(secs), None) => Some(secs),
            (None, None) => None,
            (None, Some(at)) => {
                let at_ms = super::parse_rfc3339(at).ok_or_else(|| {
                    FieldError::new(
                        "expires_at",
                        "is not an RFC 3339 time such as 2027-01-01T00:00:00Z",
                    )
                })?;
                let secs = (at_ms - now_ms).div_euclid(1000);
                if secs < 1 {
                    return Err(FieldError::new("expires_at", "is not in the future"));
                }
                if secs.unsigned_abs() > CreateApiKey::MAX_LIFETIME_SECS {
                    return Err(FieldError::new("expires_at", "is more than 10 years away"));
                }
                Some(u64::try_from(secs).unwrap_or(u64::MAX))
            }
        };
        Ok(CreateApiKey {
            name: self.name,
            owner: self.owner,
            role: self.role,
            scopes: self.scopes,
            templates: self.templates,
            expires_in,
            rate_limit: self.rate_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_predecessors_instance_body_is_accepted_and_mapped() {
        let body: LegacyRegisterInstance = serde_json::from_str(
            r#"{"id": "a1", "template_name": "t", "endpoint": "http://127.0.0.1:1/mcp",
                "transport": "http", "status": "healthy", "backend": "docker",
                "is_active": true, "instance_metadata": {"zone": "eu"},
                "consecutive_failures": 0, "last_health_check": null}"#,
        )
        .unwrap();
        let reg = body.into_registration().unwrap();
        assert_eq!(reg.instance_id.as_deref(), Some("a1"));
        assert_eq!(reg.metadata.unwrap()["zone"], "eu");
        let off: LegacyRegisterInstance =
            serde_json::from_str(r#"{"endpoint": "http://x/mcp", "is_active": false}"#).unwrap();
        assert_eq!(off.into_registration().unwrap_err().field, "is_active");
        assert!(serde_json::from_str::<LegacyRegisterInstance>(r#"{"bogus": 1}"#).is_err());
    }

    #[test]
    fn the_predecessors_key_body_is_accepted_and_expires_at_becomes_expires_in() {
        let now = 1_800_000_000_000; // 2027-01-15T08:00:00Z
        let body: CreateApiKeyBody = serde_json::from_str(
            r#"{"name": "ci", "description": "for CI", "is_active": true, "user_id": 7,
                "expires_at": "2027-01-16T08:00:00Z", "scopes": ["mcp:read"]}"#,
        )
        .unwrap();
        let req = body.into_request(now).unwrap();
        assert_eq!(req.expires_in, Some(86_400));
        assert_eq!(req.scopes.unwrap(), ["mcp:read"]);
        for (bad, field) in [
            (r#"{"name": "k", "is_active": false}"#, "is_active"),
            (r#"{"name": "k", "expires_at": "tomorrow"}"#, "expires_at"),
            (
                r#"{"name": "k", "expires_at": "2020-01-01T00:00:00Z"}"#,
                "expires_at",
            ),
            (
                r#"{"name": "k", "expires_at": "2027-02-01T00:00:00Z", "expires_in": 5}"#,
                "expires_at",
            ),
        ] {
            let body: CreateApiKeyBody = serde_json::from_str(bad).unwrap();
            assert_eq!(body.into_request(now).unwrap_err().field, field, "{bad}");
        }
        assert!(serde_json::from_str::<CreateApiKeyBody>(r#"{"name": "k", "bogus": 1}"#).is_err());
    }
}
