//! HTTP response bodies (a full buffer or an SSE stream fed by a channel) and builders.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc::UnboundedReceiver;

use super::emit::{Framing, encode};
use super::rpc::{RpcError, response_err};

/// The `Mcp-Session-Id` header.
pub(crate) const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// Body of every response the echo server sends.
#[derive(Debug)]
pub(crate) enum RespBody {
    /// A complete body (taken when polled).
    Full(Option<Bytes>),
    /// SSE events produced by a request task; the stream ends when the task drops its sender.
    Stream(UnboundedReceiver<Bytes>),
}

impl Body for RespBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            RespBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            RespBody::Stream(rx) => rx
                .poll_recv(cx)
                .map(|chunk| chunk.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, RespBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RespBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            RespBody::Stream(_) => SizeHint::default(),
        }
    }
}

/// A response with the given status and body.
fn response(status: StatusCode, body: RespBody) -> Response<RespBody> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}

/// An empty response (e.g. 202 for notifications).
pub(crate) fn empty(status: StatusCode) -> Response<RespBody> {
    response(status, RespBody::Full(None))
}

/// An `application/json` response carrying `message`.
pub(crate) fn json(status: StatusCode, message: &Value) -> Response<RespBody> {
    let mut bytes = encode(message, Framing::Line);
    bytes.truncate(bytes.len().saturating_sub(1)); // drop the line terminator
    let mut response = response(status, RespBody::Full(Some(bytes)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An `application/json` JSON-RPC error response with a null id.
pub(crate) fn json_error(status: StatusCode, code: i64, message: &str) -> Response<RespBody> {
    json(
        status,
        &response_err(Value::Null, RpcError::new(code, message)),
    )
}

/// A `text/event-stream` response holding exactly one `message` event.
pub(crate) fn sse_single(message: &Value) -> Response<RespBody> {
    sse(RespBody::Full(Some(encode(message, Framing::Sse))))
}

/// A `text/event-stream` response streaming the events sent into `rx`.
pub(crate) fn sse_stream(rx: UnboundedReceiver<Bytes>) -> Response<RespBody> {
    sse(RespBody::Stream(rx))
}

fn sse(body: RespBody) -> Response<RespBody> {
    let mut response = response(StatusCode::OK, body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    response
}
