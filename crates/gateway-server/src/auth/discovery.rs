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

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{FromRef, Path, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::{
    Access,
    resource::{Discovery, WELL_KNOWN},
};
use crate::error::ApiError;

/// The metadata routes (public: see `policy::is_public`).
pub(crate) fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Access>: FromRef<S>,
{
    Router::new()
        .route(WELL_KNOWN, get(root))
        .route(&format!("{WELL_KNOWN}/{{*rest}}"), get(under))
}

async fn root(State(access): State<Arc<Access>>) -> Response {
    serve(&access, "")
}

async fn under(State(access): State<Arc<Access>>, Path(rest): Path<String>) -> Response {
    serve(&access, &format!("/{rest}"))
}

fn serve(access: &Access, path: &str) -> Response {
    let not_found = || ApiError::RouteNotFound(format!("{WELL_KNOWN}{path}")).into_response();
    let Some(discovery) = access.discovery.as_deref() else {
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

    use gateway_auth::oidc::{IssuerConfig, OAuthConfig};
    use gateway_core::{Scope, Scopes};
    use serde_json::json;

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
