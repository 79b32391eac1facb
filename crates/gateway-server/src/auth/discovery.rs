//! OAuth 2.0 Protected Resource Metadata (RFC 9728) for clients of the MCP
//! authorization spec, served when external issuers are trusted:
//!
//! | path | `resource` | `scopes_supported` |
//! |---|---|---|
//! | `/.well-known/oauth-protected-resource` | the public URL | every scope |
//! | `/.well-known/oauth-protected-resource/mcp` | public URL + `/mcp` | `mcp:read mcp:call` |
//! | `/.well-known/oauth-protected-resource/mcp/{t}` | public URL + `/mcp/{t}` | `mcp:read mcp:call` |
//!
//! Each also has `authorization_servers` (the trusted issuers), `bearer_methods_supported:
//! ["header"]` and `resource_name`. Scope names are the issuers': with a `scope_map`, the
//! issuer scopes that grant the gateway scope. The documents are public (no credential)
//! and answer 404 when no issuer is configured (there is then no authorization server to
//! point at: the gateway's own `/auth/login` is a password login, not an OAuth 2.1
//! authorization server, so no RFC 8414 metadata is served for it). When the public URL
//! has a path (`https://corp.example/gw`), the documents are also found with that path
//! after the well-known prefix, as RFC 9728 builds their URLs.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use gateway_auth::oidc::OAuthConfig;
use gateway_core::{Scope, TemplateName};
use serde_json::json;

use crate::{error::ApiError, state::AppState};

/// The well-known prefix of the metadata documents.
pub(crate) const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// What clients are told about the gateway as a protected resource.
pub(crate) struct Discovery {
    /// The resource identifier (public URL, no trailing slash).
    resource: String,
    /// `scheme://authority` of the resource identifier.
    origin: String,
    /// The resource identifier's path (`""` or `/gw`).
    base_path: String,
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
    fn document(&self, endpoint: &str) -> serde_json::Value {
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

/// The metadata routes (public: see `policy::is_public`).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(WELL_KNOWN, get(root))
        .route(&format!("{WELL_KNOWN}/{{*rest}}"), get(under))
}

async fn root(State(state): State<AppState>) -> Response {
    serve(&state, "")
}

async fn under(State(state): State<AppState>, Path(rest): Path<String>) -> Response {
    serve(&state, &format!("/{rest}"))
}

fn serve(state: &AppState, path: &str) -> Response {
    let not_found = || ApiError::RouteNotFound(format!("{WELL_KNOWN}{path}")).into_response();
    let Some(discovery) = state.access.discovery.as_deref() else {
        return not_found();
    };
    // With a public URL that has a path, clients insert it after the well-known prefix.
    let path = match path.strip_prefix(discovery.base_path.as_str()) {
        Some(rest)
            if !discovery.base_path.is_empty() && (rest.is_empty() || rest.starts_with('/')) =>
        {
            rest
        }
        _ => path,
    };
    let endpoint = match path {
        "" => "",
        p if Discovery::endpoint_of(p) == Some(p) => p,
        _ => return not_found(),
    };
    let mut response = Json(discovery.document(endpoint)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeMap, time::Duration};

    use gateway_auth::oidc::IssuerConfig;
    use gateway_core::Scopes;

    use super::*;

    fn config(resource: &str) -> OAuthConfig {
        let plain = IssuerConfig::new("a", "https://a.example");
        let mut mapped = IssuerConfig::new("b", "https://b.example/tenant");
        mapped.claims.scope_map = Some(BTreeMap::from([
            (
                "gw.use".to_owned(),
                Scopes::of([Scope::McpRead, Scope::McpCall]),
            ),
            ("gw.admin".to_owned(), Scopes::all()),
        ]));
        mapped.leeway = Duration::from_secs(1);
        OAuthConfig {
            resource: resource.to_owned(),
            issuers: vec![plain, mapped],
        }
    }

    #[test]
    fn documents_name_the_resource_and_the_issuers_scopes() {
        let d = Discovery::new(&config("https://gw.example.com/"));
        let doc = d.document("/mcp/fs");
        assert_eq!(doc["resource"], "https://gw.example.com/mcp/fs");
        assert_eq!(
            doc["authorization_servers"],
            json!(["https://a.example", "https://b.example/tenant"])
        );
        assert_eq!(
            doc["scopes_supported"],
            json!(["mcp:read", "gw.admin", "gw.use", "mcp:call"])
        );
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(doc["resource_name"], "MCP gateway: fs");
        assert_eq!(d.document("")["resource"], "https://gw.example.com");
        assert_eq!(
            d.scope_param(&[Scope::Admin]).as_deref(),
            Some("admin gw.admin")
        );
    }

    #[test]
    fn metadata_urls_follow_the_endpoint() {
        let d = Discovery::new(&config("https://corp.example/gw"));
        assert_eq!(
            d.metadata_url("/mcp/fs/tools/call"),
            "https://corp.example/.well-known/oauth-protected-resource/gw/mcp/fs"
        );
        assert_eq!(
            d.metadata_url("/mcp"),
            "https://corp.example/.well-known/oauth-protected-resource/gw/mcp"
        );
        assert_eq!(
            d.metadata_url("/auth/users"),
            "https://corp.example/.well-known/oauth-protected-resource/gw"
        );
        assert_eq!(Discovery::endpoint_of("/mcp/fs"), Some("/mcp/fs"));
        assert_eq!(Discovery::endpoint_of("/mcp/fs/health"), Some("/mcp/fs"));
        assert_eq!(Discovery::endpoint_of("/mcp/%66s"), None);
        assert_eq!(Discovery::endpoint_of("/mcpx"), None);
        assert_eq!(Discovery::endpoint_of("/mcp/"), None);
    }
}
