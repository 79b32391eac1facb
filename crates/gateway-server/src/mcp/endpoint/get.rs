//! `GET /mcp[/{template}]`: a legacy session's stream of server messages. A dedicated
//! session's upstream messages all come through its outbox; shared sessions hear list
//! changes and resource updates from every instance in scope. One stream per session
//! (409 for a second); shutdown ends it cleanly.

use std::sync::{Arc, atomic::Ordering};

use axum::{
    body::Bytes,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use tokio::sync::mpsc;

use super::{accept::Accepts, extract::Endpoint, post::dedicated_route};
use crate::{
    drain::Phase,
    mcp::{
        notify::notification_forwarders,
        reply::Refusal,
        session::Live,
        stream::{AbortOnDrop, sse_response},
    },
};

/// `GET /mcp` and `GET /mcp/{template}`.
pub(crate) async fn get(endpoint: Endpoint, accepts: Accepts) -> Response {
    if let Err(refusal) = endpoint.required_session_id() {
        return refusal.into_response();
    }
    if !accepts.sse {
        return Refusal::transport(
            StatusCode::NOT_ACCEPTABLE,
            "Not Acceptable: Accept must include text/event-stream",
        )
        .into_response();
    }
    let live = match endpoint.session() {
        Some(Ok(live)) => live,
        Some(Err(refusal)) => return refusal.into_response(),
        None => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
    };
    if live.stream_open.swap(true, Ordering::AcqRel) {
        return Refusal::transport(
            StatusCode::CONFLICT,
            "Conflict: only one GET stream is allowed per session",
        )
        .into_response();
    }
    let (tx, rx) = mpsc::channel::<Bytes>(32);
    let (tasks, sink) = if dedicated_route(&endpoint).is_some() {
        (Vec::new(), Some(live.outbox.lock().attach(tx)))
    } else {
        let routes = endpoint.mcp.relay.routes();
        (notification_forwarders(&routes, &endpoint.scope, tx), None)
    };
    sse_response(
        rx,
        Open {
            live,
            sink,
            _forwarders: AbortOnDrop(tasks),
        },
        endpoint.mcp.keepalive,
        // A notification stream has no end of its own: shutdown ends it, cleanly, so
        // the server need not wait for the drain deadline (clients reconnect elsewhere).
        endpoint.mcp.drain.reached(Phase::Draining),
    )
}

/// An open GET stream: detaches from the outbox and frees the session's stream slot
/// when the response ends.
struct Open {
    live: Arc<Live>,
    sink: Option<u64>,
    _forwarders: AbortOnDrop,
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(sink) = self.sink {
            self.live.outbox.lock().detach(sink);
        }
        self.live.stream_open.store(false, Ordering::Release);
    }
}
