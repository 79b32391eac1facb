//! `POST /mcp` and `POST /mcp/{template}`: acceptance checks, then the request's era and
//! session decide where it goes (a session request, `initialize`, or a 2026-07-28
//! request), after the caller's scopes are checked.

use std::sync::Arc;

use axum::{
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use gateway_core::{
    Scope as AuthScope, SessionMode,
    jsonrpc::{ErrorObject, Message},
    mcp::{
        Method, ParamsView,
        wire::{HEADER_PROTOCOL_VERSION, HEADER_SESSION_ID},
    },
};
use tracing::Instrument as _;

use super::{
    accept,
    answer::{self, Era},
    client,
    extract::{Endpoint, Posted},
    initialize,
};
use crate::{
    auth::RequestMeta,
    error::ApiError,
    mcp::{
        dedicated::Dedicated,
        dispatch::{ClientRequest, missing_scope},
        era,
        reply::{self, Refusal, rpc_http},
    },
    registry::TemplateRoute,
};

/// `POST /mcp` and `POST /mcp/{template}`.
pub(crate) async fn post(endpoint: Endpoint, meta: RequestMeta, posted: Posted) -> Response {
    let Posted { headers, uri, body } = posted;
    let (accepts, message) = match accept::check(&headers, &body) {
        Ok(accepted) => accepted,
        Err(refused) => return refused.into_response(),
    };
    drop(body);
    let request = match message {
        Message::Request(request) => ClientRequest::from(request),
        Message::Notification(n) => return client::notification(&endpoint, &n),
        Message::Response(r) => return client::response(&endpoint, r).await,
    };
    crate::trace::record_method(&request.method);
    // Not traced: no header is even looked up.
    let span = if tracing::level_enabled!(tracing::Level::DEBUG) {
        crate::trace::server_span(
            &request.method,
            request.params.as_deref(),
            crate::trace::Inbound {
                id: Some(&request.id),
                session: header_str(&headers, HEADER_SESSION_ID),
                protocol: header_str(&headers, HEADER_PROTOCOL_VERSION),
            },
        )
    } else {
        tracing::Span::none()
    };
    handle(endpoint, meta, headers, uri, request, accepts.sse)
        .instrument(span)
        .await
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A request, once parsed and accepted (inside its SERVER span).
async fn handle(
    endpoint: Endpoint,
    meta: RequestMeta,
    headers: HeaderMap,
    uri: Uri,
    request: ClientRequest,
    sse: bool,
) -> Response {
    let principal = endpoint.principal.as_deref();
    if let Some(scope) = missing_scope(principal, &request.method) {
        let error = reply::scope_error(&request.method, scope);
        return insufficient_scope(&endpoint, &meta, uri.path(), request, scope, error);
    }
    let initializing = request.method == Method::Initialize;
    let dedicated = dedicated_route(&endpoint);
    if let Some(route) = &dedicated
        && (endpoint.has_session() || initializing)
        && let Some(scope) = missing_scope(principal, &Method::ToolsCall)
    {
        // A dedicated session runs an upstream (a process, for stdio) of its own: a
        // read-only principal must not be able to take those places.
        let mut error = reply::scope_error(&request.method, scope);
        error.message = format!(
            "`{}` needs the {scope} scope: template `{}` gives each session its own \
             upstream (session_mode dedicated)",
            request.method, route.name
        );
        return insufficient_scope(&endpoint, &meta, uri.path(), request, scope, error);
    }
    if let Some(opened) = endpoint.session() {
        let live = match opened {
            Ok(live) => live,
            Err(refusal) => return refusal.into_response(),
        };
        // The negotiated revision (a client may omit the header).
        if tracing::level_enabled!(tracing::Level::DEBUG) {
            let span = tracing::Span::current();
            span.record("mcp.protocol.version", live.claims.version.as_str());
        }
        if let Err(message) = era::check_legacy_header(&headers) {
            return Refusal::transport(StatusCode::BAD_REQUEST, message).into_response();
        }
        let mcp = endpoint.mcp.clone();
        let mut ctx = endpoint.into_ctx();
        if let Some(route) = dedicated {
            let opened = live
                .dedicated
                .get_or_try_init(|| {
                    Dedicated::open(
                        &mcp.dedicated_counts,
                        mcp.limits.max_dedicated_per_principal,
                        &route,
                        live.claims.actor.as_deref(),
                        live.claims.pinned.as_deref(),
                        live.claims.capabilities.as_deref(),
                        live.outbox.clone(),
                    )
                })
                .await;
            match opened {
                Ok(dedicated) => ctx.dedicated = Some(dedicated.clone()),
                Err(e) => {
                    let outcome = reply::open_error(&e);
                    return reply::json(answer::encode(request.id, None, outcome));
                }
            }
        }
        return answer::answer(ctx, request, Some(live), Era::Legacy, sse).await;
    }
    if initializing {
        return initialize::initialize(endpoint.into_ctx(), request, dedicated).await;
    }
    // The routed fields of the params, read once for the era checks and the reply.
    let view = ParamsView::parse(request.params.as_deref()).ok();
    let meta = view.as_ref().and_then(|v| v.meta().ok());
    let progress = meta.as_ref().is_some_and(|m| m.progress_token.is_some());
    let checked = match (
        &view,
        meta.as_ref().and_then(|m| m.protocol_version.as_deref()),
    ) {
        (Some(view), Some(version)) => Some(era::check_modern_view(
            &headers,
            &request.method,
            view,
            version,
        )),
        _ => None,
    };
    match checked {
        Some(Ok(_)) => {
            let era = Era::Modern { progress };
            answer::answer(endpoint.into_ctx(), request, None, era, sse).await
        }
        Some(Err(error)) => rpc_http(StatusCode::BAD_REQUEST, Some(request.id), &error),
        None => Refusal::transport(
            StatusCode::BAD_REQUEST,
            "Bad Request: Mcp-Session-Id header is required (send initialize first, or \
             2026-07-28 requests with _meta io.modelcontextprotocol/protocolVersion)",
        )
        .into_response(),
    }
}

/// The template's route when the endpoint is a template in `dedicated` session mode.
pub(super) fn dedicated_route(endpoint: &Endpoint) -> Option<Arc<TemplateRoute>> {
    let template = endpoint.scope.template()?;
    endpoint
        .mcp
        .relay
        .routes()
        .get(template)
        .filter(|r| r.settings.session_mode() == SessionMode::Dedicated)
        .cloned()
}

/// 403 for a method the caller's scopes do not cover, as the REST facade answers a
/// missing scope and as the MCP authorization spec asks (an `insufficient_scope`
/// challenge, so a client can step up), with a JSON-RPC error for the request; audited.
fn insufficient_scope(
    endpoint: &Endpoint,
    meta: &RequestMeta,
    path: &str,
    request: ClientRequest,
    scope: AuthScope,
    error: ErrorObject,
) -> Response {
    let actor = endpoint.principal.as_ref().map(|p| p.actor());
    let target = format!("POST {path} {}", request.method);
    endpoint.mcp.access.audit(meta.event(
        actor,
        "authz.deny",
        Some(target),
        gateway_auth::Outcome::Denied,
    ));
    let mut response = rpc_http(StatusCode::FORBIDDEN, Some(request.id), &error);
    // The challenge as the REST facade writes it (one definition of its realm).
    let rest = ApiError::from(gateway_auth::Error::MissingScope(scope)).into_response();
    if let Some(challenge) = rest.headers().get(header::WWW_AUTHENTICATE) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge.clone());
    }
    response
}
