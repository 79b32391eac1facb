//! `WWW-Authenticate` challenges (RFC 6750, RFC 9728 §5.1, the MCP authorization spec):
//! what a 401 or an `insufficient_scope` 403 tells the client.
//!
//! Without external issuers: `Bearer realm="mcp-gateway"`, plus `error="invalid_token"`
//! when a credential was presented and refused, or `error="insufficient_scope",
//! scope="..."`. With them, every challenge also carries `resource_metadata="<URL of the
//! protected resource metadata of the endpoint>"`, and a 401 names the scopes to request
//! (`mcp:read mcp:call` on MCP endpoints, else the route's scope), in the issuers' names.
//! The auth layer sets the request's [`Context`] (a task-local, so a 403 written by a
//! handler, such as the MCP endpoint's, gets the same challenge).

use std::sync::Arc;

use axum::http::{HeaderValue, Uri};
use gateway_core::Scope;

use super::resource::Discovery;

tokio::task_local! {
    static CONTEXT: Context;
}

/// What the challenges of one request refer to.
pub(crate) struct Context {
    discovery: Arc<Discovery>,
    uri: Uri,
    /// The scopes a 401 tells the client to request.
    needs: &'static [Scope],
}

impl Context {
    pub(crate) fn new(discovery: Arc<Discovery>, uri: Uri, needs: &'static [Scope]) -> Context {
        Context {
            discovery,
            uri,
            needs,
        }
    }

    /// Runs `f` with this context in scope.
    pub(crate) async fn scope<F: Future>(self, f: F) -> F::Output {
        CONTEXT.scope(self, f).await
    }
}

/// Which challenge.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// No credential.
    Missing,
    /// A credential was presented and refused.
    Invalid,
    /// Authenticated, without this scope.
    Insufficient(Scope),
}

/// The `WWW-Authenticate` value of `kind` for the request being served.
pub(crate) fn header(kind: Kind) -> Option<HeaderValue> {
    let text = CONTEXT
        .try_with(|ctx| render(kind, Some(ctx)))
        .unwrap_or_else(|_| render(kind, None));
    HeaderValue::from_str(&text).ok()
}

fn render(kind: Kind, ctx: Option<&Context>) -> String {
    let mut out = String::from("Bearer realm=\"mcp-gateway\"");
    let scope = match kind {
        Kind::Missing => None,
        Kind::Invalid => {
            out.push_str(", error=\"invalid_token\"");
            None
        }
        Kind::Insufficient(scope) => {
            out.push_str(", error=\"insufficient_scope\"");
            Some(scope)
        }
    };
    let Some(ctx) = ctx else {
        if let Some(scope) = scope {
            out.push_str(&format!(", scope=\"{scope}\""));
        }
        return out;
    };
    let names = match scope {
        Some(scope) => ctx.discovery.scope_param(&[scope]),
        None => ctx.discovery.scope_param(ctx.needs),
    };
    if let Some(names) = names {
        out.push_str(&format!(", scope=\"{names}\""));
    }
    out.push_str(&format!(
        ", resource_metadata=\"{}\"",
        ctx.discovery.metadata_url(ctx.uri.path())
    ));
    out
}

/// The scopes a 401 on a route requiring `scope` asks for (`None`: any principal).
pub(crate) fn needs(is_mcp_endpoint: bool, scope: Option<Scope>) -> &'static [Scope] {
    if is_mcp_endpoint {
        return &[Scope::McpRead, Scope::McpCall];
    }
    match scope {
        None => &[],
        Some(Scope::McpRead) => &[Scope::McpRead],
        Some(Scope::McpCall) => &[Scope::McpCall],
        Some(Scope::GatewayRead) => &[Scope::GatewayRead],
        Some(Scope::GatewayWrite) => &[Scope::GatewayWrite],
        Some(Scope::Admin) => &[Scope::Admin],
    }
}

#[cfg(test)]
mod tests {
    use gateway_auth::oidc::{IssuerConfig, OAuthConfig};

    use super::*;

    #[tokio::test]
    async fn challenges_point_at_the_endpoint_metadata() {
        assert_eq!(render(Kind::Missing, None), "Bearer realm=\"mcp-gateway\"");
        assert_eq!(
            render(Kind::Insufficient(Scope::McpCall), None),
            "Bearer realm=\"mcp-gateway\", error=\"insufficient_scope\", scope=\"mcp:call\""
        );
        let discovery = Arc::new(Discovery::new(&OAuthConfig {
            resource: "https://gw.example.com".to_owned(),
            issuers: vec![IssuerConfig::new("a", "https://a.example")],
        }));
        let ctx = Context::new(
            discovery,
            Uri::from_static("/mcp/fs?x=1"),
            needs(true, Some(Scope::McpRead)),
        );
        let url = "https://gw.example.com/.well-known/oauth-protected-resource/mcp/fs";
        assert_eq!(
            render(Kind::Missing, Some(&ctx)),
            format!(
                "Bearer realm=\"mcp-gateway\", scope=\"mcp:read mcp:call\", resource_metadata=\"{url}\""
            )
        );
        assert_eq!(
            render(Kind::Invalid, Some(&ctx)),
            format!(
                "Bearer realm=\"mcp-gateway\", error=\"invalid_token\", scope=\"mcp:read mcp:call\", resource_metadata=\"{url}\""
            )
        );
        assert_eq!(
            render(Kind::Insufficient(Scope::McpCall), Some(&ctx)),
            format!(
                "Bearer realm=\"mcp-gateway\", error=\"insufficient_scope\", scope=\"mcp:call\", resource_metadata=\"{url}\""
            )
        );
        // The task-local reaches code that only builds an error.
        let inside = ctx.scope(async { header(Kind::Missing).unwrap() }).await;
        assert!(inside.to_str().unwrap().contains(url));
        assert_eq!(
            header(Kind::Missing).unwrap(),
            "Bearer realm=\"mcp-gateway\""
        );
    }
}
