//! Sessions on any replica. A shared-mode session is served wherever its request lands
//! (its sealed id is all it needs). A dedicated session's upstream, and an HTTP+SSE
//! connection's stream, live on one replica, which its sealed id names: [`divert`]
//! forwards a request that lands elsewhere to that replica, once, signed
//! (`X-Gateway-Forwarded`, see `crate::fleet::hop`), with the client's own headers (its
//! credentials are checked again there; the gateway adds none), and streams the answer
//! back (SSE included). When the owner is unreachable, or was restarted (its sessions
//! died with it), the answer is the 404 of an unknown session: the client initializes
//! again, as the MCP specification asks.
//!
//! Runs after authentication and rate limiting on the receiving replica (a caller that
//! may not use the endpoint is refused there, and charged once).

use std::sync::Arc;

use axum::{
    body::{Body, Bytes},
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use gateway_core::jsonrpc::code;
use http_body_util::Full;

use super::{reply::Refusal, state::McpState};
use crate::{
    error::ApiError,
    fleet::hop::{Forwarded, Hop, HopCounts, Owner, Place, X_GATEWAY_FORWARDED, session_of},
};

/// The route whose session is an HTTP+SSE connection (`?session_id=`).
const MESSAGES_ROUTE: &str = "/mcp/{template}/messages";

/// Route layer of the MCP endpoints: serves here, forwards, or answers 404.
pub(crate) async fn divert(
    State(mcp): State<Arc<McpState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(session) = session_of(&request).map(str::to_owned) else {
        return next.run(request).await;
    };
    let connection = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|p| p.as_str() == MESSAGES_ROUTE);
    let place = match connection {
        true => mcp.sessions.connection_place(&session, &mcp.hop),
        false => mcp.sessions.place(&session, &mcp.hop),
    };
    let counts = &mcp.hop.counts;
    match place {
        Place::Here => next.run(request).await,
        Place::Gone => {
            HopCounts::add(&counts.owner_gone);
            gone(connection, "the replica holding it was restarted")
        }
        // One hop only: a replica that was sent a session it does not hold answers
        // 404 rather than pass it on (no loops, whatever the fleet's state).
        Place::There(_) if request.extensions().get::<Forwarded>().is_some() => gone(
            connection,
            "it is not held by the replica it was forwarded to",
        ),
        Place::There(owner) => forward(&mcp, &owner, &session, request, connection).await,
    }
}

/// Sends `request` to `owner` and streams its answer back.
async fn forward(
    mcp: &McpState,
    owner: &Owner,
    session: &str,
    request: Request,
    connection: bool,
) -> Response {
    let hop = &mcp.hop;
    HopCounts::add(&hop.counts.sent);
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, hop.max_body).await else {
        return ApiError::PayloadTooLarge.into_response();
    };
    let Some(outgoing) = outgoing(hop, owner, session, &parts, body) else {
        return gone(
            connection,
            "the address of the replica holding it is unusable",
        );
    };
    match hop.client().send(outgoing).await {
        Ok(response) => {
            tracing::debug!(owner = %owner.replica, status = response.status().as_u16(), "forwarded to the session's replica");
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, Body::new(body))
        }
        Err(e) => {
            tracing::warn!(
                owner = %owner.replica,
                url = %owner.url,
                error = %e,
                "the replica holding a session is unreachable: answered 404 so the client \
                 starts a new session"
            );
            HopCounts::add(&hop.counts.owner_gone);
            gone(connection, "the replica holding it is unreachable")
        }
    }
}

/// The request for the owner: the client's method, path, query and headers (its
/// credentials too: the owner authenticates it again), plus the signed hop header.
fn outgoing(
    hop: &Hop,
    owner: &Owner,
    session: &str,
    parts: &axum::http::request::Parts,
    body: Bytes,
) -> Option<axum::http::Request<Full<Bytes>>> {
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri: Uri = format!("{}{path_and_query}", owner.url).parse().ok()?;
    let signed = hop.sign(parts.method.as_str(), parts.uri.path(), session)?;
    let mut request = axum::http::Request::builder()
        .method(parts.method.clone())
        .uri(uri)
        .body(Full::new(body))
        .ok()?;
    let headers = request.headers_mut();
    headers.clone_from(&parts.headers);
    strip_hop_by_hop(headers);
    // An HTTP/2 client names the host in `:authority`, not `Host`: the owner checks the
    // name the client used (its Host allowlist), not the owner's own address.
    if !headers.contains_key(header::HOST)
        && let Some(host) = parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    {
        headers.insert(header::HOST, host);
    }
    // The body was read whole: hyper frames it again.
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(X_GATEWAY_FORWARDED, signed);
    Some(request)
}

/// Headers that belong to one connection, not to the message (RFC 9110 §7.6.1).
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

/// The 404 of an unknown session (an unknown connection on the HTTP+SSE transport).
fn gone(connection: bool, why: &str) -> Response {
    let message = match connection {
        true => {
            format!("Session not found: unknown HTTP+SSE connection ({why}); open a new stream")
        }
        false => format!("Session not found: {why}; initialize a new session"),
    };
    Refusal::new(StatusCode::NOT_FOUND, code::SESSION_NOT_FOUND, message).into_response()
}
