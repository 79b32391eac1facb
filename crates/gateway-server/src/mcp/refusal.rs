//! Refusals of the MCP endpoints: an HTTP status with a JSON-RPC error body (`Retry-After`
//! where waiting helps).

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use gateway_core::jsonrpc::{ErrorObject, Message, RequestId, Response as RpcResponse};

use super::session::SessionError;

/// A request refused before it reaches dispatch: an HTTP status with a JSON-RPC error.
pub(super) struct Refusal {
    status: StatusCode,
    code: i32,
    message: String,
    /// Seconds for `Retry-After`.
    retry_after: Option<u32>,
}

impl Refusal {
    pub(super) fn new(status: StatusCode, code: i32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 503 when the replica holds its maximum of live sessions, all busy.
    pub(super) fn overloaded(e: &SessionError) -> Self {
        Self {
            retry_after: Some(OVERLOADED_RETRY_SECS),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                -32000,
                overloaded_message(e),
            )
        }
    }
}

/// [`Refusal::overloaded`] as the answer to request `id` (an `initialize`).
pub(super) fn overloaded(id: RequestId, e: &SessionError) -> Response {
    let error = ErrorObject::new(-32000, overloaded_message(e));
    let response = rpc_http(StatusCode::SERVICE_UNAVAILABLE, Some(id), &error);
    retry_later(response, OVERLOADED_RETRY_SECS)
}

fn overloaded_message(e: &SessionError) -> String {
    format!("Service Unavailable: {e}; retry later")
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let response = http_error(self.status, self.code, self.message);
        match self.retry_after {
            Some(secs) => retry_later(response, secs),
            None => response,
        }
    }
}

/// `Retry-After` for a full replica.
const OVERLOADED_RETRY_SECS: u32 = 5;

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
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
