//! [`InstanceInfo`]: a registered instance as the management API shows it, without
//! secrets or (for non-admins) access details.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::time::rfc3339;
use crate::{Instance, InstanceSpec};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
