//! Every error the MCP endpoints answer, chosen here once: refusals before dispatch (an
//! HTTP status with a JSON-RPC error body, `Retry-After` where waiting helps), JSON-RPC
//! errors for requests the gateway answers itself, and the relay's failures as JSON-RPC
//! errors (the REST facade's mapping of the same failures is in `crate::error`). Codes
//! are the named constants of `gateway_core::jsonrpc::code`.

use axum::{
    body::Bytes,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use gateway_core::{
    Scope as AuthScope,
    jsonrpc::{ErrorObject, Message, Outcome, RequestId, Response as RpcResponse, code, to_raw},
    mcp::Method,
};
use serde_json::json;

use super::{dedicated::OpenError, session::SessionError};
use crate::relay::RelayError;

/// A request refused before it reaches dispatch: an HTTP status with a JSON-RPC error.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    code: i32,
    message: String,
    /// Seconds for `Retry-After`.
    retry_after: Option<u32>,
    /// `Allow`, for a 405.
    allow: Option<&'static str>,
}

impl Refusal {
    pub(super) fn new(status: StatusCode, code: i32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            allow: None,
        }
    }

    /// A transport-level refusal (`code::SERVER_ERROR`, as the MCP SDKs send them).
    pub(super) fn transport(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, code::SERVER_ERROR, message)
    }

    /// Names the methods the endpoint takes (`Allow`, for a 405).
    pub(super) fn allow(mut self, methods: &'static str) -> Self {
        self.allow = Some(methods);
        self
    }

    /// Asks the client to wait `secs` before trying again.
    pub(super) fn retry_after(mut self, secs: u32) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// The session id names no session for this endpoint and caller (404: the client
    /// re-initializes), or the replica is full of busy sessions (503).
    pub(super) fn session(e: &SessionError) -> Self {
        match e {
            SessionError::Overloaded(_) => {
                Self::transport(StatusCode::SERVICE_UNAVAILABLE, overloaded_message(e))
                    .retry_after(OVERLOADED_RETRY_SECS)
            }
            e => Self::new(
                StatusCode::NOT_FOUND,
                code::SESSION_NOT_FOUND,
                format!("Session not found: {e}"),
            ),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response = http_error(self.status, self.code, self.message);
        if let Some(methods) = self.allow {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(methods));
        }
        match self.retry_after {
            Some(secs) => retry_later(response, secs),
            None => response,
        }
    }
}

/// `Retry-After` for a full replica.
const OVERLOADED_RETRY_SECS: u32 = 5;

fn overloaded_message(e: &SessionError) -> String {
    format!("Service Unavailable: {e}; retry later")
}

/// 503 for an `initialize` (request `id`) when the replica holds its maximum of live
/// sessions, all busy.
pub(super) fn overloaded(id: RequestId, e: &SessionError) -> Response {
    let error = ErrorObject::new(code::SERVER_ERROR, overloaded_message(e));
    let response = rpc_http(StatusCode::SERVICE_UNAVAILABLE, Some(id), &error);
    retry_later(response, OVERLOADED_RETRY_SECS)
}

/// Adds `Retry-After: secs`.
pub(super) fn retry_later(mut response: Response, secs: u32) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// An HTTP error with a JSON-RPC error body (`id: null`).
pub(super) fn http_error(status: StatusCode, code: i32, message: impl Into<String>) -> Response {
    rpc_http(status, None, &ErrorObject::new(code, message))
}

/// An HTTP error with a JSON-RPC error body for request `id`.
pub(super) fn rpc_http(status: StatusCode, id: Option<RequestId>, error: &ErrorObject) -> Response {
    let body = Message::from(RpcResponse::error(id, error)).to_vec();
    (status, json_body(body)).into_response()
}

/// A 200 JSON body.
pub(super) fn json(body: impl Into<Bytes>) -> Response {
    json_body(body.into()).into_response()
}

fn json_body(body: impl Into<Bytes>) -> ([(header::HeaderName, HeaderValue); 1], Bytes) {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.into(),
    )
}

/// A JSON-RPC error the gateway answers a request with.
pub(super) fn error(code: i32, message: impl Into<String>) -> Outcome {
    Outcome::Error(to_raw(&ErrorObject::new(code, message)))
}

/// A request the client cancelled (`notifications/cancelled`).
pub(super) fn cancelled() -> Outcome {
    error(code::REQUEST_CANCELLED, "request cancelled by the client")
}

/// The relay's failure as a JSON-RPC error: the same message as the REST facade's
/// `detail`, `data.request_id` to find the cause in the gateway's log.
pub(super) fn relay_error(e: &RelayError) -> Outcome {
    let code = match e {
        RelayError::TemplateNotFound(_) => code::INVALID_PARAMS,
        RelayError::NoInstances(_)
        | RelayError::Unavailable { .. }
        | RelayError::Overloaded { .. } => code::UPSTREAM_UNAVAILABLE,
        RelayError::TimedOut { .. } => code::UPSTREAM_TIMEOUT,
        RelayError::Failed { .. } => code::UPSTREAM_FAILED,
        RelayError::Credentials { .. } => code::UPSTREAM_CREDENTIALS,
    };
    e.log_hidden_cause();
    let mut object = ErrorObject::new(code, e.to_string());
    let request_id = crate::request_id::current();
    if let RelayError::Overloaded { .. } = e {
        // Like the REST facade's `Retry-After`: when trying again makes sense.
        object = object.with_data(json!({
            "reason": "overloaded",
            "retry_after": RelayError::OVERLOADED_RETRY_AFTER_SECS,
            "request_id": request_id,
        }));
    } else if let Some(id) = request_id {
        object = object.with_data(json!({ "request_id": id }));
    }
    Outcome::Error(to_raw(&object))
}

/// Why a session's own upstream could not be opened, as a JSON-RPC error.
pub(super) fn open_error(e: &OpenError) -> Outcome {
    match e {
        OpenError::Full(max) => error(
            code::UPSTREAM_UNAVAILABLE,
            format!("this template's {max} dedicated sessions are all in use; try again later"),
        ),
        OpenError::PrincipalFull(max) => Outcome::Error(to_raw(
            &ErrorObject::new(
                code::UPSTREAM_UNAVAILABLE,
                format!(
                    "you already hold {max} dedicated sessions on this template, the most \
                     one principal may (MCP_GATEWAY_MAX_DEDICATED_PER_PRINCIPAL); close one \
                     with DELETE or let it expire"
                ),
            )
            .with_data(json!({"limit": max, "per": "principal"})),
        )),
        OpenError::Relay(e) => relay_error(e),
    }
}

/// The JSON-RPC error for a method the caller's scopes do not cover (`data` names the
/// scope, like `required_scope` on the REST facade).
pub(super) fn scope_error(method: &Method, scope: AuthScope) -> ErrorObject {
    ErrorObject::new(
        code::INVALID_REQUEST,
        format!("`{method}` needs the {scope} scope"),
    )
    .with_data(json!({"required_scope": scope.as_str()}))
}
