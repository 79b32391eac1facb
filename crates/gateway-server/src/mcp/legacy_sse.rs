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
//! (503) and, with auth on, per principal (429).

use std::{collections::HashMap, convert::Infallible, sync::Arc};

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
use gateway_core::{
    jsonrpc::{ErrorObject, Message, Request, Response as RpcResponse},
    mcp::Method,
};
use tokio::sync::mpsc;

use super::{
    backlog::{Backlog, Place},
    describe,
    dispatch::{self, Ctx, Scope},
    quota::{Permit, Quota},
    refusal::{http_error, retry_later, rpc_http},
};
use crate::{auth::Caller, drain::Phase, state::AppState};

/// Seconds a refused client is told to wait before a new connection.
const RETRY_CONNECT_SECS: u32 = 5;
/// Seconds a refused message is told to wait (the stream drains as the client reads).
const RETRY_MESSAGE_SECS: u32 = 1;

/// Open legacy SSE connections on this replica, by connection id, and the places they
/// hold under the connection caps.
#[derive(Default)]
pub(crate) struct Connections {
    by_id: parking_lot::Mutex<HashMap<String, Connection>>,
    total: Quota<()>,
    per_principal: Quota<Arc<str>>,
}

struct Connection {
    template: Arc<str>,
    actor: Option<String>,
    tx: mpsc::Sender<Queued>,
    backlog: Arc<Backlog>,
}

/// An answer on its way to the stream, holding its place in the connection's backlog
/// until the stream takes it.
struct Queued {
    text: String,
    _place: Place,
}

/// Removes the connection when its stream ends, and gives back its places.
struct Registered {
    state: AppState,
    id: String,
    _places: Places,
}

/// A connection's places under the replica's and (auth on) its principal's caps.
type Places = (Permit<()>, Option<Permit<Arc<str>>>);

impl Registered {
    /// Forgets the connection: new messages for it get 404, and its sender is dropped.
    fn unregister(&self) {
        self.state.mcp.legacy_sse.by_id.lock().remove(&self.id);
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
    State(state): State<AppState>,
    Path(template): Path<String>,
    caller: Option<Caller>,
) -> Response {
    if state.registry.snapshot().get(&template).is_none() {
        return (
            StatusCode::NOT_FOUND,
            format!("unknown template {template:?}"),
        )
            .into_response();
    }
    let places = match take_places(&state, caller.as_ref()) {
        Ok(places) => places,
        Err(refusal) => return refusal,
    };
    let limits = state.mcp.limits;
    let id = uuid::Uuid::new_v4().simple().to_string();
    // Every message in the channel holds a place in the backlog, so it never fills.
    let (tx, rx) = mpsc::channel::<Queued>(limits.sse_queue_messages);
    state.mcp.legacy_sse.by_id.lock().insert(
        id.clone(),
        Connection {
            template: Arc::from(template.as_str()),
            actor: caller.as_ref().map(|c| c.0.actor().to_owned()),
            tx,
            backlog: Arc::new(Backlog::new(
                limits.sse_queue_messages,
                limits.sse_queue_bytes,
            )),
        },
    );
    let endpoint = format!("/mcp/{template}/messages?session_id={id}");
    let guard = Registered {
        state: state.clone(),
        id,
        _places: places,
    };
    let first = Event::default().event("endpoint").data(endpoint);
    let draining: Option<Stop> = Some(Box::pin(state.drain.reached(Phase::Draining)));
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
            let event = Event::default().event("message").data(message.text);
            Some((Ok::<_, Infallible>(event), (rx, guard, draining)))
        },
    );
    let events = stream::once(async move { Ok::<_, Infallible>(first) }).chain(messages);
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(state.mcp.keepalive))
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
    State(state): State<AppState>,
    Path(template): Path<String>,
    Query(query): Query<SessionQuery>,
    caller: Option<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !crate::media::is_json(&headers) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        )
            .into_response();
    }
    let (tx, backlog) = {
        let connections = state.mcp.legacy_sse.by_id.lock();
        match connections.get(&query.session_id) {
            Some(c)
                if *c.template == *template
                    && c.actor.as_deref() == caller.as_ref().map(|c| c.0.actor()) =>
            {
                (c.tx.clone(), c.backlog.clone())
            }
            _ => return (StatusCode::NOT_FOUND, "unknown session").into_response(),
        }
    };
    let request = match Message::parse(&body) {
        Ok(Message::Request(request)) => request,
        Ok(_) => return StatusCode::ACCEPTED.into_response(),
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let Some(mut place) = backlog.try_reserve(body.len()) else {
        return backlog_full(&backlog, request);
    };
    drop(body);
    let ctx = Ctx {
        state: state.clone(),
        scope: Scope::Template(Arc::from(template.as_str())),
        principal: caller.map(|c| c.0),
        progress: None,
        dedicated: None,
    };
    tokio::spawn(async move {
        let response = answer(&ctx, request).await;
        drop(ctx);
        let text = String::from_utf8(Message::from(response).to_vec()).unwrap_or_default();
        place.resize(text.len());
        let _ = tx
            .send(Queued {
                text,
                _place: place,
            })
            .await;
    });
    StatusCode::ACCEPTED.into_response()
}

/// A place under the replica's and (with auth on) the principal's connection caps, or
/// the refusal.
#[allow(clippy::result_large_err)] // the refusal is the response, built once
fn take_places(state: &AppState, caller: Option<&Caller>) -> Result<Places, Response> {
    let limits = state.mcp.limits;
    let connections = &state.mcp.legacy_sse;
    let max = limits.sse_max_connections_per_principal;
    let own = match caller {
        Some(caller) => {
            let actor = Arc::from(caller.0.actor());
            let Some(own) = connections.per_principal.try_take(actor, max) else {
                return Err(retry_later(
                    http_error(
                        StatusCode::TOO_MANY_REQUESTS,
                        -32000,
                        format!(
                            "Too Many Requests: you already hold {max} open HTTP+SSE \
                             connections, the most one principal may \
                             (MCP_GATEWAY_SSE_MAX_CONNECTIONS_PER_PRINCIPAL)"
                        ),
                    ),
                    RETRY_CONNECT_SECS,
                ));
            };
            Some(own)
        }
        None => None,
    };
    let Some(total) = connections.total.try_take((), limits.sse_max_connections) else {
        return Err(retry_later(
            http_error(
                StatusCode::SERVICE_UNAVAILABLE,
                -32000,
                "Service Unavailable: this replica holds its maximum of HTTP+SSE connections \
                 (MCP_GATEWAY_SSE_MAX_CONNECTIONS)",
            ),
            RETRY_CONNECT_SECS,
        ));
    };
    Ok((total, own))
}

/// 429 for a message to a connection whose backlog is full: the client is not reading
/// its stream fast enough (or at all).
fn backlog_full(backlog: &Backlog, request: Request) -> Response {
    let (messages, bytes) = backlog.limits();
    tracing::debug!("HTTP+SSE connection backlog full; message refused");
    let error = ErrorObject::new(
        -32000,
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

async fn answer(ctx: &Ctx, request: Request) -> RpcResponse {
    if request.method == Method::Initialize.as_str() {
        let params: serde_json::Value = request
            .params
            .as_deref()
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or_default();
        let version = describe::negotiate(params["protocolVersion"].as_str());
        let result = describe::initialize_result(ctx, version).await;
        return RpcResponse::result(request.id, result);
    }
    let id = request.id.clone();
    RpcResponse {
        id: Some(id),
        outcome: dispatch::dispatch(ctx, request).await,
    }
}
