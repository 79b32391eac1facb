//! Which scope each route needs: one table, keyed by method and matched route.
//!
//! | routes | scope | template allowlist |
//! |---|---|---|
//! | `POST/GET/DELETE /mcp/{t}` (native MCP; `tools/call`, `resources/read`, `prompts/get`, ... also need `mcp:call`) | `mcp:read` | yes |
//! | `POST/GET/DELETE /mcp` (aggregated MCP: lists show allowed templates only; calls need `mcp:call`) | `mcp:read` | per template |
//! | `GET /mcp/{t}/{tools,resources,resources/templates,prompts}/list`, `GET /mcp/{t}/health` | `mcp:read` | yes |
//! | `POST /mcp/{t}/{tools/call,resources/read,prompts/get}`, any other `/mcp/{t}/...` | `mcp:call` | yes |
//! | `GET /gateway/{stats,registry,templates}`, `GET /metrics` (answers list allowed templates only, see `admin::audience`) | `gateway:read` | per template |
//! | `GET /gateway/templates/{t}/load-balancer` | `gateway:read` | yes |
//! | `POST /gateway/register` (the handler checks the body's template) | `gateway:write` | yes |
//! | `POST /gateway/templates/{t}/instances`, deregister, `PUT /gateway/templates/{t}/load-balancer` | `gateway:write` | yes |
//! | `/auth/users*`, `/auth/audit` | `admin` | no |
//! | `/auth/me`, `/auth/api-keys*` | any principal (handlers restrict to own keys) | no |
//! | any other route | `admin` (deny by default until a route is listed here) | no |
//!
//! Public, with or without authentication: `/gateway/health`, `/gateway/ready`,
//! `/openapi.json`, `/docs`, `/redoc` (and their assets), `/auth/login`,
//! `/.well-known/oauth-protected-resource[/...]`.

use std::borrow::Cow;

use axum::http::Method;
use gateway_core::Scope;

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Requirement {
    /// The scope needed, if any (`None`: any authenticated principal).
    pub(crate) scope: Option<Scope>,
    /// Whether the template in the path (`/mcp/{template}/...`,
    /// `/gateway/templates/{template}/...`, `/gateway/deregister/{template}/...`) must be
    /// on the caller's allowlist.
    pub(crate) template: bool,
    /// The audit action of a successful or failed call, if audited here.
    pub(crate) audit: Option<&'static str>,
}

const fn need(scope: Scope) -> Requirement {
    Requirement {
        scope: Some(scope),
        template: false,
        audit: None,
    }
}

/// Paths anyone may call.
pub(crate) fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/" | "/gateway/health"
            | "/gateway/ready"
            | "/openapi.json"
            | "/docs"
            | "/redoc"
            | "/auth/login"
    ) || path.starts_with("/docs/")
        || path.starts_with("/redoc/")
        || path == super::resource::WELL_KNOWN
        || path.starts_with("/.well-known/oauth-protected-resource/")
}

/// The requirement of `method` on the route `matched` (`None`: no route matched).
pub(crate) fn requirement(method: &Method, matched: Option<&str>) -> Requirement {
    let Some(route) = matched else {
        // The 404 fallback: being authenticated is enough to learn that.
        return Requirement {
            scope: None,
            template: false,
            audit: None,
        };
    };
    let mcp = |scope| Requirement {
        scope: Some(scope),
        template: true,
        audit: None,
    };
    let audited = |action| Requirement {
        audit: Some(action),
        template: true,
        ..need(Scope::GatewayWrite)
    };
    let per_template = |scope| Requirement {
        template: true,
        ..need(scope)
    };
    match (method.as_str(), route) {
        (_, "/mcp/{template}") => mcp(Scope::McpRead),
        (_, "/mcp") => need(Scope::McpRead),
        (
            "GET",
            "/mcp/{template}/tools/list"
            | "/mcp/{template}/resources/list"
            | "/mcp/{template}/resources/templates/list"
            | "/mcp/{template}/prompts/list"
            | "/mcp/{template}/health",
        ) => mcp(Scope::McpRead),
        (_, r) if r.starts_with("/mcp/{template}") => mcp(Scope::McpCall),
        ("GET", "/gateway/stats" | "/gateway/registry" | "/gateway/templates" | "/metrics") => {
            need(Scope::GatewayRead)
        }
        ("GET", "/gateway/templates/{template}/load-balancer") => per_template(Scope::GatewayRead),
        // Registration is audited by its handler, which knows the template and instance
        // (and checks the template of `/gateway/register`, which is in the body).
        ("POST", "/gateway/register") => need(Scope::GatewayWrite),
        ("POST", "/gateway/templates/{template}/instances") => per_template(Scope::GatewayWrite),
        (
            "DELETE",
            "/gateway/deregister/{template}/{instance_id}"
            | "/gateway/templates/{template}/instances/{instance_id}",
        ) => audited("instance.deregister"),
        ("PUT", "/gateway/templates/{template}/load-balancer") => audited("template.settings"),
        (_, "/auth/users" | "/auth/users/{name}" | "/auth/audit") => need(Scope::Admin),
        (_, "/auth/me" | "/auth/api-keys" | "/auth/api-keys/{id}") => Requirement {
            scope: None,
            template: false,
            audit: None,
        },
        _ => need(Scope::Admin),
    }
}

/// The template of a `/mcp/{template}/...`, `/gateway/templates/{template}/...` or
/// `/gateway/deregister/{template}/...` path, percent-decoded like the router does.
pub(crate) fn template_of(path: &str) -> Option<Cow<'_, str>> {
    let rest = ["/mcp/", "/gateway/templates/", "/gateway/deregister/"]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix))?;
    let raw = rest.split('/').next()?;
    if raw.contains('%') {
        percent_decode(raw).map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(raw))
    }
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_to_scopes() {
        let get = Method::GET;
        let post = Method::POST;
        let r = requirement(&get, Some("/mcp/{template}/tools/list"));
        assert_eq!((r.scope, r.template), (Some(Scope::McpRead), true));
        let r = requirement(&post, Some("/mcp/{template}/tools/call"));
        assert_eq!((r.scope, r.template), (Some(Scope::McpCall), true));
        assert_eq!(
            requirement(&get, Some("/gateway/registry")).scope,
            Some(Scope::GatewayRead)
        );
        assert_eq!(
            requirement(&get, Some("/metrics")).scope,
            Some(Scope::GatewayRead)
        );
        assert_eq!(
            requirement(&post, Some("/gateway/register")).scope,
            Some(Scope::GatewayWrite)
        );
        let r = requirement(
            &Method::DELETE,
            Some("/gateway/deregister/{template}/{instance_id}"),
        );
        assert_eq!((r.audit, r.template), (Some("instance.deregister"), true));
        let r = requirement(&get, Some("/gateway/templates/{template}/load-balancer"));
        assert_eq!((r.scope, r.template), (Some(Scope::GatewayRead), true));
        let r = requirement(&get, Some("/gateway/registry"));
        assert!(!r.template, "filtered by the handler");
        assert_eq!(
            requirement(&post, Some("/auth/users")).scope,
            Some(Scope::Admin)
        );
        assert_eq!(requirement(&get, Some("/auth/me")).scope, None);
        assert_eq!(
            requirement(&get, Some("/something/new")).scope,
            Some(Scope::Admin)
        );
        assert_eq!(requirement(&get, None).scope, None);
    }

    #[test]
    fn public_paths() {
        for p in [
            "/",
            "/gateway/health",
            "/gateway/ready",
            "/openapi.json",
            "/docs",
            "/docs/index.css",
            "/redoc",
            "/auth/login",
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-protected-resource/mcp/fs",
        ] {
            assert!(is_public(p), "{p}");
        }
        for p in [
            "/gateway/healthz",
            "/gateway/stats",
            "/auth/login/x",
            "/docsx",
            "/mcp/x/health",
            "/.well-known/oauth-protected-resourcex",
        ] {
            assert!(!is_public(p), "{p}");
        }
    }

    #[test]
    fn templates_are_decoded() {
        assert_eq!(template_of("/mcp/fs/tools/list").as_deref(), Some("fs"));
        assert_eq!(template_of("/mcp/%66s/tools/list").as_deref(), Some("fs"));
        assert_eq!(template_of("/mcp/%zz/x"), None);
        assert_eq!(template_of("/gateway/x"), None);
        assert_eq!(
            template_of("/gateway/templates/fs/load-balancer").as_deref(),
            Some("fs")
        );
        assert_eq!(
            template_of("/gateway/deregister/f%73/fs-1").as_deref(),
            Some("fs")
        );
        assert_eq!(template_of("/gateway/templates").as_deref(), None);
    }
}
