//! The 2024-11-05 HTTP+SSE transport, for clients that predate Streamable HTTP:
//! `GET /mcp/{template}/sse` opens the stream, whose first event (`endpoint`) names the
//! URL to POST messages to; every response travels back on the stream. A connection is
//! its own session and lives on the replica that holds the stream. At shutdown a stream
//! takes no new messages and ends once the answers in progress are sent.

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
    jsonrpc::{Message, Request, Response as RpcResponse},
    mcp::Method,
};
use tokio::sync::mpsc;

use super::{
    describe,
    dispatch::{self, Ctx, Scope},
};
use crate::{auth::Caller, drain::Phase, state::AppState};

/// Open legacy SSE connections on this replica, by connection id.
#[derive(Default)]
pub(crate) struct Connections(parking_lot::Mutex<HashMap<String, Connection>>);

struct Connection {
    template: Arc<str>,
    actor: Option<String>,
    tx: mpsc::Sender<String>,
}

/// Removes the connection when its stream ends.
struct Registered {
    state: AppState,
    id: String,
}

impl Registered {
    /// Forgets the connection: new messages for it get 404, and its sender is dropped.
    fn unregister(&self) {
        self.state.mcp.legacy_sse.0.lock().remove(&self.id);
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
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (tx, rx) = mpsc::channel::<String>(64);
    state.mcp.legacy_sse.0.lock().insert(
        id.clone(),
        Connection {
            template: Arc::from(template.as_str()),
            actor: caller.as_ref().map(|c| c.0.actor().to_owned()),
            tx,
        },
    );
    let endpoint = format!("/mcp/{template}/messages?session_id={id}");
    let guard = Registered {
        state: state.clone(),
        id,
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
            let event = Event::default().event("message").data(message);
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
    let tx = {
        let connections = state.mcp.legacy_sse.0.lock();
        match connections.get(&query.session_id) {
            Some(c)
                if *c.template == *template
                    && c.actor.as_deref() == caller.as_ref().map(|c| c.0.actor()) =>
            {
                c.tx.clone()
            }
            _ => return (StatusCode::NOT_FOUND, "unknown session").into_response(),
        }
    };
    let request = match Message::parse(&body) {
        Ok(Message::Request(request)) => request,
        Ok(_) => return StatusCode::ACCEPTED.into_response(),
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let ctx = Ctx {
        state: state.clone(),
        scope: Scope::Template(Arc::from(template.as_str())),
        principal: caller.map(|c| c.0),
        progress: None,
        dedicated: None,
    };
    tokio::spawn(async move {
        let response = answer(&ctx, request).await;
        let _ = tx
            .send(String::from_utf8(Message::from(response).to_vec()).unwrap_or_default())
            .await;
    });
    StatusCode::ACCEPTED.into_response()
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
