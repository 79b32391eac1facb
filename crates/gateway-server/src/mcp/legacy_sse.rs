//! The 2024-11-05 HTTP+SSE transport, for clients that predate Streamable HTTP:
//! `GET /mcp/{template}/sse` opens the stream, whose first event (`endpoint`) names the
//! URL to POST messages to; every response travels back on the stream. A connection is
//! its own session and lives on the replica that holds the stream. At shutdown a stream
//! takes no new messages and ends once the answers in progress are sent.
//!
//! Bounds, so a client that never reads its stream cannot grow the gateway's memory:
//! each connection accepts at most `MCP_GATEWAY_SSE_QUEUE_MESSAGES` requests (and
//! `MCP_GATEWAY_SSE_QUEUE_BYTES` of requests and answers) that are not yet written to its
//! stream, and answers 429 with `Retry-After` beyond; connections are capped per replica
//! (503) and, with auth on, per principal (429) ([`super::connections`]). Refusals carry
//! a JSON-RPC error body, as on the Streamable HTTP endpoints.

use std::{convert::Infallible, sync::Arc};

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::{StreamExt as _, stream};
use gateway_core::jsonrpc::{ErrorObject, Message, Response as RpcResponse, code};
use gateway_core::mcp::Method;
use tokio::sync::mpsc;
use tracing::Instrument as _;

use super::{
    backlog::Backlog,
    connections::{Connection, Places, Queued},
    describe,
    dispatch::{self, ClientRequest, Ctx},
    reply::{Refusal, retry_later, rpc_http},
    scope::Scope,
    state::McpState,
    stream::text,
};
use crate::{auth::Caller, drain::Phase, metrics::Interface};

/// Seconds a refused message is told to wait (the stream drains as the client reads).
const RETRY_MESSAGE_SECS: u32 = 1;

/// Removes the connection when its stream ends, and gives back its places.
struct Registered {
    mcp: Arc<McpState>,
    id: String,
    _places: Places,
}

impl Registered {
    /// Forgets the connection: new messages for it get 404, and its sender is dropped.
    fn unregister(&self) {
        self.mcp.legacy_sse.remove(&self.id);
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.unregister();
    }
}

/// Resolves when the stream should stop taking requests.
type Stop = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// `GET /mcp/{template}/sse`.
pub(crate) async fn open(
    State(mcp): State<Arc<McpState>>,
    Path(template): Path<String>,
    caller: Option<Caller>,
) -> Response {
    if mcp.relay.routes().get(&template).is_none() {
        return unknown_template(&template).into_response();
    }
    let actor = caller.as_ref().map(|c| c.0.actor());
    let places = match mcp.legacy_sse.take_places(&mcp.limits, actor) {
        Ok(places) => places,
        Err(refusal) => return refusal.into_response(),
    };
    let limits = mcp.limits;
    // Names this replica, so a message POSTed to another one is forwarded here.
    let id = mcp.sessions.connection_id(&mcp.hop.me);
    // Every message in the channel holds a place in the backlog, so it never fills.
    let (tx, rx) = mpsc::channel::<Queued>(limits.sse_queue_messages);
    mcp.legacy_sse.insert(
        id.clone(),
        Connection {
            template: Arc::from(template.as_str()),
            actor: actor.map(str::to_owned),
            tx,
            backlog: Arc::new(Backlog::new(
                limits.sse_queue_messages,
                limits.sse_queue_bytes,
            )),
        },
    );
    let endpoint = format!("/mcp/{template}/messages?session_id={id}");
    let keepalive = mcp.keepalive;
    let draining: Option<Stop> = Some(Box::pin(mcp.drain.reached(Phase::Draining)));
    let guard = Registered {
        mcp,
        id,
        _places: places,
    };
    let first = Event::default().event("endpoint").data(endpoint);
    let messages = stream::unfold(
        (rx, guard, draining),
        |(mut rx, guard, mut draining)| async move {
            let message = loop {
                let Some(stop) = draining.as_mut() else {
                    break rx.recv().await?;
                };
                tokio::select! {
                    message = rx.recv() => break message?,
                    () = stop => {
                        // Shutting down: take no more requests on this connection. The
                        // answers being worked on hold their own senders, so the stream
                        // ends, cleanly, once they are sent (or at the drain deadline).
                        guard.unregister();
                        draining = None;
                    }
                }
            };
            // The answer leaves the backlog here: the stream has taken it.
            let event = Event::default()
                .event("message")
                .data(text(&message.message));
            Some((Ok::<_, Infallible>(event), (rx, guard, draining)))
        },
    );
    let events = stream::once(async move { Ok::<_, Infallible>(first) }).chain(messages);
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(keepalive))
        .into_response();
    response
        .headers_mut()
        .insert("x-accel-buffering", header::HeaderValue::from_static("no"));
    response
}

/// `?session_id=`.
#[derive(serde::Deserialize)]
pub(crate) struct SessionQuery {
    session_id: String,
}

/// `POST /mcp/{template}/messages?session_id=...`: 202, the answer goes on the stream.
pub(crate) async fn message(
    State(mcp): State<Arc<McpState>>,
    Path(template): Path<String>,
    Query(query): Query<SessionQuery>,
    caller: Option<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !crate::media::is_json(&headers) {
        return Refusal::transport(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type: Content-Type must be application/json",
        )
        .into_response();
    }
    let actor = caller.as_ref().map(|c| c.0.actor());
    let Some((tx, backlog)) = mcp.legacy_sse.sender(&query.session_id, &template, actor) else {
        return Refusal::new(
            StatusCode::NOT_FOUND,
            code::SESSION_NOT_FOUND,
            "Session not found: unknown HTTP+SSE connection",
        )
        .into_response();
    };
    let request = match Message::parse(&body) {
        Ok(Message::Request(request)) => ClientRequest::from(request),
        Ok(_) => return StatusCode::ACCEPTED.into_response(),
        Err(e) => {
            return Refusal::new(StatusCode::BAD_REQUEST, e.code(), e.to_string()).into_response();
        }
    };
    crate::trace::record_method(&request.method);
    let Some(mut place) = backlog.try_reserve(body.len()) else {
        return backlog_full(&backlog, request);
    };
    drop(body);
    // The SERVER span (when traced; else the request's span, for the logs).
    let span = crate::trace::server_span(
        &request.method,
        request.params.as_deref(),
        crate::trace::Inbound {
            id: Some(&request.id),
            session: Some(query.session_id.as_str()),
            protocol: None,
        },
    );
    let span = if span.is_disabled() {
        tracing::Span::current()
    } else {
        span
    };
    let ctx = Ctx {
        mcp,
        scope: Scope::Template(Arc::from(template.as_str())),
        principal: caller.map(|c| c.0),
        progress: None,
        dedicated: None,
        interface: Interface::LegacySse,
    };
    let work = async move {
        let response = answer(&ctx, request).await;
        drop(ctx);
        let message = Bytes::from(Message::from(response).to_vec());
        place.resize(message.len());
        let _ = tx
            .send(Queued {
                message,
                _place: place,
            })
            .await;
    };
    tokio::spawn(crate::request_id::carried(work.instrument(span)));
    StatusCode::ACCEPTED.into_response()
}

fn unknown_template(template: &str) -> Refusal {
    Refusal::new(
        StatusCode::NOT_FOUND,
        code::INVALID_PARAMS,
        format!("unknown template {template:?}"),
    )
}

/// 429 for a message to a connection whose backlog is full: the client is not reading
/// its stream fast enough (or at all).
fn backlog_full(backlog: &Backlog, request: ClientRequest) -> Response {
    let (messages, bytes) = backlog.limits();
    tracing::debug!("HTTP+SSE connection backlog full; message refused");
    let error = ErrorObject::new(
        code::SERVER_ERROR,
        format!(
            "Too Many Requests: this connection already has {messages} messages (or {bytes} \
             bytes) not yet read from its stream; read the stream, then retry"
        ),
    );
    retry_later(
        rpc_http(StatusCode::TOO_MANY_REQUESTS, Some(request.id), &error),
        RETRY_MESSAGE_SECS,
    )
}

async fn answer(ctx: &Ctx, request: ClientRequest) -> RpcResponse {
    if request.method == Method::Initialize {
        let params: serde_json::Value = request
            .params
            .as_deref()
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or_default();
        let version = describe::negotiate(params["protocolVersion"].as_str());
        let result = describe::initialize_result(ctx.subject(), version).await;
        return RpcResponse::result(request.id, result);
    }
    let ClientRequest { id, method, params } = request;
    RpcResponse {
        id: Some(id),
        outcome: dispatch::dispatch(ctx, method, params).await,
    }
}
