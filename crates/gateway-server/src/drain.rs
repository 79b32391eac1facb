//! Graceful shutdown with a deadline. [`Drain`] moves through three phases: `Serving`;
//! `Draining` (the signal: the listener is closed, in-flight requests go on, open SSE
//! notification streams end cleanly); `Cut` (the drain deadline passed: whatever is still
//! open answers 503 or has its stream ended, and logs what it was). [`track`] is the
//! layer that counts open requests and does the cut; it is on every request's path, so it
//! costs one atomic increment and decrement and one `watch` subscription, no lock.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use axum::{
    Json,
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, Uri, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures_util::{StreamExt as _, stream};
use tokio::sync::watch;

/// Where the server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    Serving,
    Draining,
    Cut,
}

/// The shutdown phase and how many requests are open right now.
pub(crate) struct Drain {
    phase: watch::Sender<Phase>,
    open: AtomicUsize,
}

impl Drain {
    pub(crate) fn new() -> Arc<Drain> {
        Arc::new(Drain {
            phase: watch::Sender::new(Phase::Serving),
            open: AtomicUsize::new(0),
        })
    }

    /// Enters `Draining`; returns how many requests (streams included) are open.
    pub(crate) fn begin(&self) -> usize {
        self.advance(Phase::Draining);
        self.open.load(Ordering::Relaxed)
    }

    /// Enters `Cut`; returns how many requests are still open (each logs itself as it
    /// is cut off).
    pub(crate) fn cut(&self) -> usize {
        self.advance(Phase::Cut);
        self.open.load(Ordering::Relaxed)
    }

    fn advance(&self, to: Phase) {
        self.phase.send_if_modified(|phase| {
            let later = to > *phase;
            if later {
                *phase = to;
            }
            later
        });
    }

    /// Resolves once the server is at `phase` or later.
    pub(crate) fn reached(&self, phase: Phase) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.phase.subscribe();
        async move {
            // `Err` means the sender is gone, i.e. the server is gone: stop too.
            let _ = rx.wait_for(|p| *p >= phase).await;
        }
    }

    fn enter(self: &Arc<Self>, request: &Request) -> Ticket {
        self.open.fetch_add(1, Ordering::Relaxed);
        Ticket {
            drain: self.clone(),
            method: request.method().clone(),
            uri: request.uri().clone(),
            since: Instant::now(),
        }
    }
}

/// One open request: counted until dropped (the response, or its stream, is done).
/// Cheap clones (no allocation per request); text only when it is cut off.
struct Ticket {
    drain: Arc<Drain>,
    method: Method,
    uri: Uri,
    since: Instant,
}

impl Ticket {
    fn log_cut(&self, what: &str) {
        tracing::warn!(
            method = %self.method,
            // The path only: a query may hold a session id.
            path = %self.uri.path(),
            open_for_ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX),
            "cut off {what}"
        );
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.drain.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Layer: counts the request while it is open, and at the cut answers 503 for a
/// handler that is still working or ends an event stream that is still open.
pub(crate) async fn track(
    State(drain): State<Arc<Drain>>,
    request: Request,
    next: Next,
) -> Response {
    let ticket = drain.enter(&request);
    let response = tokio::select! {
        response = next.run(request) => response,
        () = drain.reached(Phase::Cut) => {
            ticket.log_cut("a request");
            return shutting_down();
        }
    };
    let streaming = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !streaming {
        return response;
    }
    // An event stream stays open after the handler returns: the ticket lives with the
    // body, and the cut ends the body (a clean end of the chunked response).
    let (parts, body) = response.into_parts();
    let cut = Box::pin(drain.reached(Phase::Cut));
    let frames = stream::unfold(
        (body.into_data_stream(), cut, ticket),
        |(mut data, mut cut, ticket)| async move {
            tokio::select! {
                chunk = data.next() => chunk.map(|c| (c, (data, cut, ticket))),
                () = &mut cut => {
                    ticket.log_cut("an event stream");
                    None
                }
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(frames))
}

/// The answer of a request cut off by the drain deadline.
fn shutting_down() -> Response {
    // The API's error shape; the layer runs inside the request-id scope (router.rs).
    let body = gateway_core::api::ErrorBody {
        error: "shutting_down".to_owned(),
        detail: "the gateway is shutting down and the drain deadline passed; retry".to_owned(),
        field: None,
        request_id: crate::request_id::current(),
    };
    // No `Connection: close`: the graceful shutdown already closes HTTP/1 connections
    // after this response, and the header is illegal in HTTP/2.
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn phases_only_move_forward_and_wake_waiters() {
        let drain = Drain::new();
        let draining = tokio::spawn(drain.reached(Phase::Draining));
        let cut = tokio::spawn(drain.reached(Phase::Cut));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!draining.is_finished());
        assert_eq!(drain.begin(), 0);
        tokio::time::timeout(Duration::from_secs(1), draining)
            .await
            .unwrap()
            .unwrap();
        assert!(!cut.is_finished());
        drain.cut();
        drain.advance(Phase::Draining);
        assert_eq!(*drain.phase.borrow(), Phase::Cut, "never goes back");
        tokio::time::timeout(Duration::from_secs(1), cut)
            .await
            .unwrap()
            .unwrap();
        // Already reached: resolves at once.
        tokio::time::timeout(Duration::from_secs(1), drain.reached(Phase::Draining))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn open_requests_are_counted_until_their_ticket_drops() {
        let drain = Drain::new();
        let request = Request::builder()
            .method("POST")
            .uri("/mcp/echo?x=1")
            .body(Body::empty())
            .unwrap();
        let ticket = drain.enter(&request);
        let second = drain.enter(&request);
        assert_eq!(drain.begin(), 2);
        drop(second);
        assert_eq!(drain.cut(), 1);
        drop(ticket);
        assert_eq!(drain.cut(), 0);
    }
}
