//! Protection against hostile browsers, on every route: a page the operator visits must
//! not be able to call the gateway (cross-site requests), nor reach it under its own name
//! (DNS rebinding), and pages the operator trusts get proper CORS.
//!
//! In order, before authentication and before any handler:
//! 1. `Host` outside `MCP_GATEWAY_ALLOWED_HOSTS` → 403 (loopback names only when bound
//!    to loopback).
//! 2. `Origin` present: loopback pages, same-origin pages and listed origins pass; others
//!    get 403 and no CORS headers. Without `Origin`, a browser's
//!    `Sec-Fetch-Site: cross-site` subresource fetch gets 403 too.
//! 3. A CORS preflight (`OPTIONS` + `Access-Control-Request-Method`) from a listed origin
//!    is answered here (204); from any other origin, 403.
//! 4. Responses to listed origins carry `Access-Control-Allow-Origin` and expose the MCP
//!    headers (`cors`).
//!
//! Bodies: the native MCP endpoints answer with a JSON-RPC error (`-32000`,
//! `code::SERVER_ERROR`), every other
//! route with the gateway's JSON error (`forbidden_host` / `forbidden_origin`). The
//! settings are in `config/browser.rs`.

mod cors;
mod policy;

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use gateway_core::jsonrpc::{ErrorObject, Message, Response as RpcResponse, code};

pub(crate) use policy::{OriginPolicy, Refused, Verdict};

use crate::{config::BrowserSettings, error::ApiError};

/// The browser policy and CORS answers (shared by every request).
#[derive(Debug)]
pub(crate) struct Browser {
    policy: OriginPolicy,
    cors: cors::Cors,
}

impl Browser {
    pub(crate) fn new(settings: &BrowserSettings) -> Arc<Self> {
        Arc::new(Self {
            policy: OriginPolicy::new(settings),
            cors: cors::Cors::new(settings),
        })
    }
}

/// The middleware (see the module docs).
pub(crate) async fn guard(
    State(browser): State<Arc<Browser>>,
    request: Request,
    next: Next,
) -> Response {
    match browser.policy.check(request.headers(), request.uri()) {
        Verdict::Refuse(which) => refusal(which, request.uri().path()),
        Verdict::Pass { cors } => {
            if cors::is_preflight(request.method(), request.headers()) {
                return match cors {
                    Some(origin) => browser.cors.preflight(origin, request.headers()),
                    None => refusal(Refused::Origin, request.uri().path()),
                };
            }
            let mut response = next.run(request).await;
            if let Some(origin) = cors {
                browser.cors.decorate(&mut response, origin);
            }
            response
        }
    }
}

/// 403 in the shape the route's clients read.
fn refusal(which: Refused, path: &str) -> Response {
    if is_native_mcp(path) {
        let message = format!(
            "Forbidden: {} header not allowed (DNS-rebinding and cross-site protection)",
            which.header()
        );
        let body = Message::from(RpcResponse::error(
            None,
            &ErrorObject::new(code::SERVER_ERROR, message),
        ))
        .to_vec();
        return (
            StatusCode::FORBIDDEN,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
    }
    ApiError::BrowserRefused(which).into_response()
}

/// `/mcp`, `/mcp/{t}`, `/mcp/{t}/sse`, `/mcp/{t}/messages`: JSON-RPC clients.
fn is_native_mcp(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/mcp") else {
        return false;
    };
    let mut parts = rest.split('/').skip(1);
    match (parts.next(), parts.next(), parts.next()) {
        (None, ..) => rest.is_empty(),
        (Some(t), None, _) => !t.is_empty(),
        (Some(_), Some("sse" | "messages"), None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_mcp_paths() {
        for p in ["/mcp", "/mcp/echo", "/mcp/echo/sse", "/mcp/echo/messages"] {
            assert!(is_native_mcp(p), "{p}");
        }
        for p in [
            "/mcpx",
            "/mcp/",
            "/mcp/echo/tools/list",
            "/mcp/echo/health",
            "/gateway/registry",
        ] {
            assert!(!is_native_mcp(p), "{p}");
        }
    }
}
