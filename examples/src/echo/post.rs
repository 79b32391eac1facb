//! `POST /mcp`: validation, era and session checks, and JSON / SSE responses.

use std::sync::Arc;

use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper::body::Incoming as IncomingBody;
use hyper::header::{self, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

use super::body::{self, MCP_SESSION_ID, RespBody};
use super::emit::{Emitter, Framing};
use super::headers::{self as hdr, Accept, MCP_PROTOCOL_VERSION};
use super::http::{SessionError, State};
use super::rpc::{self, BAD_REQUEST, Incoming, METHOD_NOT_FOUND, Request as RpcRequest, RpcError};

/// Largest accepted request body.
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Handles `POST /mcp`.
pub(crate) async fn handle(
    request: Request<IncomingBody>,
    state: Arc<State>,
) -> Response<RespBody> {
    let (parts, body) = request.into_parts();
    let accept = Accept::from_headers(&parts.headers);
    if accept.is_unacceptable() {
        return body::json_error(
            StatusCode::NOT_ACCEPTABLE,
            BAD_REQUEST,
            "Not Acceptable: Accept must include application/json or text/event-stream",
        );
    }
    if !hdr::is_json_content_type(&parts.headers) {
        return body::json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            BAD_REQUEST,
            "Unsupported Media Type: Content-Type must be application/json",
        );
    }
    let declared_len =
        hdr::get(&parts.headers, &header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return too_large(),
        Err(_) => {
            return body::json_error(
                StatusCode::BAD_REQUEST,
                BAD_REQUEST,
                "Bad Request: unreadable body",
            );
        }
    };
    let message = match rpc::parse(&bytes) {
        Ok(message) => message,
        Err((id, error)) => return error_response(StatusCode::BAD_REQUEST, id, error),
    };
    match message {
        Incoming::Request(request) => handle_request(request, &parts, accept, state).await,
        Incoming::Notification { method, params } => {
            if let Err(rejection) = check_message(&parts, &state, &method, params.as_ref()) {
                return rejection.response(Value::Null);
            }
            body::empty(StatusCode::ACCEPTED)
        }
        Incoming::Response => {
            let modern = hdr::get(&parts.headers, &MCP_PROTOCOL_VERSION)
                == Some(super::MODERN_PROTOCOL_VERSION);
            if !modern && let Err(error) = state.check_session(&parts.headers) {
                return error.response();
            }
            body::empty(StatusCode::ACCEPTED)
        }
    }
}

/// Why a message was rejected before dispatch.
#[derive(Debug)]
enum Rejection {
    /// Unsupported version or header mismatch: 400 with the request's id.
    BadRequest(RpcError),
    /// Missing or unknown legacy session.
    Session(SessionError),
}

impl Rejection {
    fn response(self, id: Value) -> Response<RespBody> {
        match self {
            Rejection::BadRequest(error) => error_response(StatusCode::BAD_REQUEST, id, error),
            Rejection::Session(error) => error.response(),
        }
    }
}

/// Era, header and session checks shared by requests and notifications. Returns whether the
/// message is modern.
fn check_message(
    parts: &Parts,
    state: &State,
    method: &str,
    params: Option<&Value>,
) -> Result<bool, Rejection> {
    let version_header = hdr::get(&parts.headers, &MCP_PROTOCOL_VERSION);
    let modern = rpc::negotiate(params, version_header).map_err(Rejection::BadRequest)?;
    hdr::check_mcp_headers(&parts.headers, method, params).map_err(Rejection::BadRequest)?;
    if !modern && method != "initialize" {
        state
            .check_session(&parts.headers)
            .map_err(Rejection::Session)?;
    }
    Ok(modern)
}

async fn handle_request(
    request: RpcRequest,
    parts: &Parts,
    accept: Accept,
    state: Arc<State>,
) -> Response<RespBody> {
    let tool = request
        .params
        .as_ref()
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str);
    state.record(
        &request.method,
        tool,
        hdr::get(&parts.headers, &header::AUTHORIZATION),
        parts
            .headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
        request.params.as_ref().and_then(|p| p.get("_meta")),
    );
    let modern = match check_message(parts, &state, &request.method, request.params.as_ref()) {
        Ok(modern) => modern,
        Err(rejection) => return rejection.response(request.id),
    };
    if accept.sse && streams_progress(&request) {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let out = Emitter::new(tx, Framing::Sse);
            let response = rpc::handle_request(request, modern, &state.config, Some(&out)).await;
            out.emit(&response);
        });
        return body::sse_stream(rx);
    }
    let initialize = !modern && request.method == "initialize";
    let response = rpc::handle_request(request, modern, &state.config, None).await;
    let code = rpc::error_code(&response);
    let status = match code {
        Some(METHOD_NOT_FOUND) if modern => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    };
    let mut http_response = if accept.json {
        body::json(status, &response)
    } else {
        body::sse_single(&response)
    };
    if initialize
        && code.is_none()
        && let Ok(value) = HeaderValue::from_str(&state.new_session())
    {
        http_response.headers_mut().insert(MCP_SESSION_ID, value);
    }
    http_response
}

/// Whether the request is a `tools/call` of `sleep_ms` with a `progressToken`.
fn streams_progress(request: &RpcRequest) -> bool {
    let params = request.params.as_ref();
    request.method == "tools/call"
        && params.and_then(|p| p.get("name")).and_then(Value::as_str) == Some("sleep_ms")
        && params
            .and_then(|p| p.get("_meta"))
            .and_then(|m| m.get("progressToken"))
            .is_some_and(|t| !t.is_null())
}

fn error_response(status: StatusCode, id: Value, error: RpcError) -> Response<RespBody> {
    body::json(status, &rpc::response_err(id, error))
}

fn too_large() -> Response<RespBody> {
    body::json_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        BAD_REQUEST,
        "Payload Too Large: the body exceeds 16 MiB",
    )
}
