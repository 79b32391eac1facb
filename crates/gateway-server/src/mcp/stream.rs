//! Server-sent event responses: a request's progress then its response (POST), and a
//! session's notification stream (GET). Every SSE response disables proxy buffering and
//! sends `:` keep-alive comments. Dropping the body (the client went away) aborts the
//! work behind it, which cancels the upstream call. A GET stream ends when shutdown
//! starts; a POST's stream is an in-flight request and runs until the drain deadline.

use std::{convert::Infallible, time::Duration};

use axum::{
    body::Bytes,
    http::{HeaderValue, header},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use futures_util::{StreamExt as _, stream};
use tokio::{sync::mpsc, task::JoinHandle};

/// Aborts its tasks when dropped.
pub(crate) struct AbortOnDrop(pub(crate) Vec<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// An SSE response of the JSON-RPC messages (encoded) arriving on `rx`; ends when every
/// sender is gone, or when `stop` resolves (a clean end of the stream). `guard` lives as
/// long as the response body.
pub(crate) fn sse_response(
    rx: mpsc::Receiver<Bytes>,
    guard: impl Send + 'static,
    keepalive: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Response {
    let events = stream::unfold((rx, guard), |(mut rx, guard)| async move {
        let message = rx.recv().await?;
        let event = Event::default().event("message").data(text(&message));
        Some((Ok::<_, Infallible>(event), (rx, guard)))
    })
    .take_until(stop);
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(keepalive))
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// An encoded message as event data (the gateway encodes JSON, always UTF-8).
pub(crate) fn text(message: &Bytes) -> &str {
    std::str::from_utf8(message).unwrap_or_default()
}
