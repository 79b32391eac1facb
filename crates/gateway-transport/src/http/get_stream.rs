//! The GET stream of a legacy-era (2025-03-26 … 2025-11-25) Streamable HTTP session: the
//! server's channel for messages that belong to no call (`notifications/tools/list_changed`,
//! `notifications/resources/updated`, logging, server requests).
//!
//! One [`GetStream`] task per session: `GET <url>` with `Accept: text/event-stream`, the
//! session id, `MCP-Protocol-Version` and the instance's headers. 405 means the server
//! offers no stream, 404 (or another definite 4xx) that the session is gone: the task
//! ends, and the next session opened after a re-initialization starts a new one. A
//! stream that ends or breaks is reopened after a back-off (the server's `retry:` if it
//! sent one, else 1 s doubling to 30 s), resuming with `Last-Event-ID`. The response
//! headers get no timeout: servers may send none until their first event.
//!
//! The task holds no reference to the upstream (only a [`PostBack`] and the broadcast
//! sender), and the session aborts it when dropped, so it never outlives the session.

use std::time::Duration;

use gateway_core::{InstanceId, jsonrpc::Message, mcp::wire::HEADER_LAST_EVENT_ID};
use http::{HeaderName, HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use tokio::{sync::broadcast, task::JoinHandle};

use super::{
    post_back::{PostBack, error_chain, route_server_request},
    request,
    sse::{Event, SseParser},
};
use crate::ServerMessage;

/// The first reconnection delay when the server sent no `retry:`.
const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The back-off cap (unless the server's own `retry:` is longer).
const MAX_DELAY: Duration = Duration::from_secs(30);
/// The shortest `retry:` honoured, so `retry: 0` cannot spin.
const MIN_RETRY: Duration = Duration::from_millis(100);

/// A running GET stream listener; aborted when dropped.
pub(super) struct GetStream {
    task: JoinHandle<()>,
}

impl GetStream {
    /// Starts listening. Must be called inside a tokio runtime.
    pub(super) fn spawn(listener: Listener) -> Self {
        Self {
            task: tokio::spawn(listener.run()),
        }
    }

    /// Stops the listener now (it also stops when dropped).
    pub(super) fn stop(&self) {
        self.task.abort();
    }

    /// Whether the listener has ended.
    #[cfg(test)]
    pub(super) fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for GetStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for GetStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetStream")
            .field("finished", &self.task.is_finished())
            .finish()
    }
}

/// What the listener task owns: the session's coordinates (in `post_back`, which also
/// answers server requests), and where to deliver messages.
pub(super) struct Listener {
    pub(super) instance: InstanceId,
    pub(super) post_back: PostBack,
    pub(super) max_message_size: usize,
    pub(super) server_tx: broadcast::Sender<ServerMessage>,
}

/// What one connection attempt leaves for the next.
#[derive(Debug, Default)]
struct Resume {
    /// Sent as `Last-Event-ID` on the next GET (ids that are no valid header are dropped).
    last_event_id: Option<HeaderValue>,
    /// The server's `retry:`, replacing [`FIRST_DELAY`].
    retry: Option<Duration>,
}

/// How a connection attempt ended.
#[derive(Debug, PartialEq)]
enum Next {
    /// The server offers no stream, or the session is gone.
    Stop,
    /// Reconnect after a back-off; `progressed` (the stream delivered something) resets it.
    Reconnect { progressed: bool },
}

impl Listener {
    async fn run(self) {
        let mut resume = Resume::default();
        let mut failures: u32 = 0;
        loop {
            let progressed = match self.listen(&mut resume).await {
                Next::Stop => return,
                Next::Reconnect { progressed } => progressed,
            };
            if progressed {
                failures = 0;
            }
            let delay = backoff(resume.retry, failures);
            failures = failures.saturating_add(1);
            tracing::debug!(instance = %self.instance, ?delay, "upstream GET stream closed; reconnecting");
            tokio::time::sleep(delay).await;
        }
    }

    /// One GET: reads the stream until it ends.
    async fn listen(&self, resume: &mut Resume) -> Next {
        let instance = &self.instance;
        let pb = &self.post_back;
        let mut request = request::build(
            http::Method::GET,
            &pb.url,
            Some(request::SSE),
            &pb.headers,
            Vec::new(),
        );
        request::with_session(&mut request, &pb.version, pb.session_id.as_ref());
        if let Some(id) = &resume.last_event_id {
            request
                .headers_mut()
                .insert(HeaderName::from_static(HEADER_LAST_EVENT_ID), id.clone());
        }
        // No timeout: the server may send no headers until its first event.
        let response = match pb.client.inner.request(request).await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(%instance, error = %error_chain(&e), "upstream GET stream failed");
                return Next::Reconnect { progressed: false };
            }
        };
        let status = response.status();
        match status {
            s if s.is_success() => {}
            StatusCode::METHOD_NOT_ALLOWED => {
                tracing::debug!(%instance, "upstream offers no GET stream (405)");
                return Next::Stop;
            }
            StatusCode::NOT_FOUND => {
                tracing::debug!(%instance, "upstream session gone (404); GET stream stopped");
                return Next::Stop;
            }
            // Transient: a timeout, a stale predecessor stream not yet reaped (the TS SDK
            // answers 409 while one is registered), rate limiting, server trouble.
            StatusCode::REQUEST_TIMEOUT | StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS => {
                tracing::debug!(%instance, %status, "upstream GET stream refused; retrying");
                return Next::Reconnect { progressed: false };
            }
            s if s.is_server_error() => {
                tracing::debug!(%instance, %status, "upstream GET stream failed; retrying");
                return Next::Reconnect { progressed: false };
            }
            // E.g. 400 from servers that answer so for an ended session (server-everything).
            _ => {
                tracing::debug!(%instance, %status, "upstream refused the GET stream; stopped");
                return Next::Stop;
            }
        }
        let is_sse = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !is_sse {
            tracing::warn!(%instance, %status, "upstream answered the GET stream without text/event-stream; stopped");
            return Next::Stop;
        }
        tracing::debug!(%instance, resumed = resume.last_event_id.is_some(), "upstream GET stream open");
        let mut body = response.into_body();
        let mut parser = SseParser::new(self.max_message_size);
        let mut events = Vec::new();
        let mut progressed = false;
        while let Some(frame) = body.frame().await {
            let data = match frame {
                Ok(frame) => match frame.into_data() {
                    Ok(data) => data,
                    Err(_) => continue,
                },
                Err(e) => {
                    tracing::debug!(%instance, error = %error_chain(&e), "upstream GET stream broke");
                    break;
                }
            };
            progressed = true;
            let pushed = parser.push(&data, &mut events);
            if let Some(id) = parser.last_event_id() {
                resume.last_event_id = Some(id)
                    .filter(|id| !id.is_empty())
                    .and_then(|id| HeaderValue::from_str(id).ok());
            }
            if let Some(ms) = parser.retry() {
                resume.retry = Some(Duration::from_millis(ms).max(MIN_RETRY));
            }
            for event in events.drain(..) {
                self.on_event(event);
            }
            if let Err(too_large) = pushed {
                tracing::warn!(%instance, size = too_large.0, limit = self.max_message_size, "upstream GET stream message too large; reconnecting");
                return Next::Reconnect { progressed: false };
            }
        }
        Next::Reconnect { progressed }
    }

    fn on_event(&self, event: Event) {
        if event.data.is_empty() || event.event.as_deref().is_some_and(|e| e != "message") {
            return;
        }
        match Message::parse(&event.data) {
            Ok(Message::Notification(n)) => {
                let _ = self.server_tx.send(ServerMessage::Notification(n));
            }
            Ok(Message::Request(r)) => {
                route_server_request(r, &self.server_tx, Some(self.post_back.clone()));
            }
            Ok(Message::Response(_)) => {
                // Only a resumed POST stream carries responses; their calls are over.
                tracing::debug!(instance = %self.instance, "ignoring a response on the GET stream");
            }
            Err(e) => {
                tracing::warn!(instance = %self.instance, error = %e, "upstream sent an invalid message on its GET stream");
            }
        }
    }
}

/// The wait before reconnection attempt `failures + 1`: the server's `retry:` (else
/// [`FIRST_DELAY`]), doubled per consecutive failure up to [`MAX_DELAY`] (or the
/// server's own, longer `retry:`).
fn backoff(retry: Option<Duration>, failures: u32) -> Duration {
    let base = retry.unwrap_or(FIRST_DELAY);
    let cap = MAX_DELAY.max(base);
    base.saturating_mul(1u32 << failures.min(16)).min(cap)
}

#[cfg(test)]
mod tests;
