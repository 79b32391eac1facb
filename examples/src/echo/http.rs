//! Streamable HTTP transport: accept loop, routing, sessions, `GET` and `DELETE`.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use parking_lot::Mutex;
use tokio::net::TcpListener;

use super::body::{self, MCP_SESSION_ID, RespBody};
use super::headers::{self as hdr, MCP_PROTOCOL_VERSION};
use super::rpc::{BAD_REQUEST, SESSION_NOT_FOUND};
use super::{EchoConfig, MODERN_PROTOCOL_VERSION, post};

/// The MCP endpoint path.
pub(crate) const MCP_PATH: &str = "/mcp";

/// State shared by every connection of one server.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: EchoConfig,
    sessions: Mutex<HashSet<String>>,
    /// With `record_requests`: the last [`RECORDED`] requests' method, tool and
    /// `Authorization`.
    recorded: Mutex<VecDeque<serde_json::Value>>,
    /// Set once the first legacy session is issued; from then on legacy requests need one.
    issued: AtomicBool,
}

impl State {
    pub(crate) fn new(config: EchoConfig) -> Self {
        Self {
            config,
            sessions: Mutex::new(HashSet::new()),
            recorded: Mutex::new(VecDeque::new()),
            issued: AtomicBool::new(false),
        }
    }

    /// Records a request's `method`, `tool`, `authorization`, `traceparent` header and
    /// `_meta` (when recording).
    pub(crate) fn record(
        &self,
        method: &str,
        tool: Option<&str>,
        authorization: Option<&str>,
        traceparent: Option<&str>,
        meta: Option<&serde_json::Value>,
    ) {
        if !self.config.record_requests {
            return;
        }
        let mut recorded = self.recorded.lock();
        if recorded.len() == RECORDED {
            recorded.pop_front();
        }
        recorded.push_back(serde_json::json!({
            "method": method, "tool": tool, "authorization": authorization,
            "traceparent": traceparent, "meta": meta,
        }));
    }

    /// Issues and remembers a new session id.
    pub(crate) fn new_session(&self) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.sessions.lock().insert(id.clone());
        self.issued.store(true, Ordering::Relaxed);
        id
    }

    /// Checks the `Mcp-Session-Id` of a legacy, non-`initialize` message.
    pub(crate) fn check_session(&self, headers: &HeaderMap) -> Result<(), SessionError> {
        match headers.get(&MCP_SESSION_ID) {
            Some(id)
                if id
                    .to_str()
                    .is_ok_and(|id| self.sessions.lock().contains(id)) =>
            {
                Ok(())
            }
            Some(_) => Err(SessionError::Unknown),
            None if self.issued.load(Ordering::Relaxed) => Err(SessionError::Missing),
            None => Ok(()),
        }
    }
}

/// A legacy message without a valid session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SessionError {
    /// No `Mcp-Session-Id` although sessions are in use (→ 400).
    Missing,
    /// Unknown or deleted session (→ 404).
    Unknown,
}

impl SessionError {
    /// The HTTP response (JSON-RPC error body with a null id).
    pub(crate) fn response(self) -> Response<RespBody> {
        match self {
            SessionError::Missing => body::json_error(
                StatusCode::BAD_REQUEST,
                BAD_REQUEST,
                "Bad Request: Mcp-Session-Id header is required",
            ),
            SessionError::Unknown => body::json_error(
                StatusCode::NOT_FOUND,
                SESSION_NOT_FOUND,
                "Session not found",
            ),
        }
    }
}

/// Serves Streamable HTTP (`/mcp`) on `listener` forever (HTTP/1.1 with keep-alive, and h2c).
/// Accept errors (e.g. out of file descriptors) are retried, so this only returns on panic-free
/// shutdown of the runtime.
pub async fn serve_http(listener: TcpListener, config: EchoConfig) -> io::Result<()> {
    let state = Arc::new(State::new(config));
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(_) => {
                // Transient (EMFILE, ECONNABORTED, ...): back off briefly and keep serving.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Latency matters more than packet count for a benchmark upstream.
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        let builder = builder.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(route(request, state).await) }
            });
            // Connection errors (client reset, bad HTTP) only concern that connection.
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Requests remembered with `record_requests`.
const RECORDED: usize = 256;

/// Routes one HTTP request.
async fn route(request: Request<Incoming>, state: Arc<State>) -> Response<RespBody> {
    if state.config.record_requests
        && request.method() == Method::GET
        && request.uri().path() == "/__test/requests"
    {
        let recorded: Vec<_> = state.recorded.lock().iter().cloned().collect();
        let body = serde_json::json!({ "requests": recorded });
        return body::json(StatusCode::OK, &body);
    }
    if request.uri().path() != MCP_PATH {
        return body::empty(StatusCode::NOT_FOUND);
    }
    match *request.method() {
        Method::POST => post::handle(request, state).await,
        Method::DELETE if !is_modern_header(request.headers()) => delete(request.headers(), &state),
        _ => {
            let mut response = body::empty(StatusCode::METHOD_NOT_ALLOWED);
            let allow = HeaderValue::from_static("POST, DELETE");
            response.headers_mut().insert(header::ALLOW, allow);
            response
        }
    }
}

fn is_modern_header(headers: &HeaderMap) -> bool {
    hdr::get(headers, &MCP_PROTOCOL_VERSION) == Some(MODERN_PROTOCOL_VERSION)
}

/// `DELETE /mcp`: ends a legacy session.
fn delete(headers: &HeaderMap, state: &State) -> Response<RespBody> {
    let Some(id) = hdr::get(headers, &MCP_SESSION_ID) else {
        return body::json_error(
            StatusCode::BAD_REQUEST,
            BAD_REQUEST,
            "Bad Request: Mcp-Session-Id header is required",
        );
    };
    if state.sessions.lock().remove(id) {
        body::empty(StatusCode::OK)
    } else {
        body::json_error(
            StatusCode::NOT_FOUND,
            SESSION_NOT_FOUND,
            "Session not found",
        )
    }
}
