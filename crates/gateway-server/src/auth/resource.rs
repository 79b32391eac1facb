//! [`Discovery`]: what the gateway tells clients about itself as an OAuth protected
//! resource (RFC 9728): the resource identifiers, the issuers, the scope names. Read by
//! the metadata routes (`discovery`) and by challenges (`challenge`).

use gateway_auth::oidc::OAuthConfig;
use gateway_core::{Scope, TemplateName};
use serde_json::json;

/// The well-known prefix of the metadata documents.
pub(crate) const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// What clients are told about the gateway as a protected resource.
pub(crate) struct Discovery {
    /// The resource identifier (public URL, no trailing slash).
    resource: String,
    /// `scheme://authority` of the resource identifier.
    origin: String,
    /// The resource identifier's path (`""` or `/gw`).
    pub(super) base_path: String,
    /// The issuers, for `authorization_servers`.
    issuers: Vec<String>,
    /// Per scope (in [`Scope::ALL`] order), the names a client requests to get it.
    names: [Vec<String>; 5],
}

impl Discovery {
    pub(crate) fn new(config: &OAuthConfig) -> Discovery {
        let resource = config.resource.trim_end_matches('/').to_owned();
        let after_scheme = resource.find("://").map_or(0, |i| i + 3);
        let path_start = resource[after_scheme..]
            .find('/')
            .map_or(resource.len(), |i| after_scheme + i);
        let names = Scope::ALL.map(|scope| {
            let mut names: Vec<String> = Vec::new();
            for issuer in &config.issuers {
                let claims = &issuer.claims;
                if claims.scope.is_none() {
                    continue;
                }
                let granted: Vec<String> = match &claims.scope_map {
                    None => vec![scope.as_str().to_owned()],
                    Some(map) => map
                        .iter()
                        .filter(|(_, ours)| ours.contains(scope))
                        .map(|(theirs, _)| theirs.clone())
                        .collect(),
                };
                for name in granted {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
            names
        });
        Discovery {
            origin: resource[..path_start].to_owned(),
            base_path: resource[path_start..].to_owned(),
            resource,
            issuers: config.issuers.iter().map(|i| i.issuer.clone()).collect(),
            names,
        }
    }

    /// The MCP endpoint a request path is for (`/mcp` or `/mcp/{template}`, also for the
    /// REST facade under `/mcp/{template}/...`), if any.
    pub(crate) fn endpoint_of(path: &str) -> Option<&str> {
        if path == "/mcp" {
            return Some(path);
        }
        let rest = path.strip_prefix("/mcp/")?;
        let template = rest.split('/').next()?;
        TemplateName::parse(template).ok()?;
        Some(&path[..5 + template.len()])
    }

    /// The URL of the metadata document for a request to `path`.
    pub(crate) fn metadata_url(&self, path: &str) -> String {
        let endpoint = Self::endpoint_of(path).unwrap_or("");
        format!("{}{WELL_KNOWN}{}{endpoint}", self.origin, self.base_path)
    }

    /// The scope values a client requests to hold `scopes`, space-separated (`None`
    /// when no issuer names any, e.g. roles decide the scopes).
    pub(crate) fn scope_param(&self, scopes: &[Scope]) -> Option<String> {
        let mut out: Vec<&str> = Vec::new();
        for scope in scopes {
            let index = Scope::ALL.iter().position(|s| s == scope).unwrap_or(0);
            for name in &self.names[index] {
                if !out.contains(&name.as_str()) {
                    out.push(name);
                }
            }
        }
        (!out.is_empty()).then(|| out.join(" "))
    }

    /// The metadata document of `endpoint` (`""`, `/mcp` or `/mcp/{t}`).
    pub(super) fn document(&self, endpoint: &str) -> serde_json::Value {
        let (scopes, name) = match endpoint {
            "" => (&Scope::ALL[..], "MCP gateway".to_owned()),
            "/mcp" => (
                &[Scope::McpRead, Scope::McpCall][..],
                "MCP gateway (all templates)".to_owned(),
            ),
            template => (
                &[Scope::McpRead, Scope::McpCall][..],
                format!("MCP gateway: {}", &template[5..]),
            ),
        };
        let mut doc = json!({
            "resource": format!("{}{endpoint}", self.resource),
            "authorization_servers": self.issuers,
            "bearer_methods_supported": ["header"],
            "resource_name": name,
        });
        if let Some(scopes) = self.scope_param(scopes) {
            doc["scopes_supported"] = json!(scopes.split(' ').collect::<Vec<_>>());
        }
        doc
    }
}
