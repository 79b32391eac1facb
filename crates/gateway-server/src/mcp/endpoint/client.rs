//! What a client POSTs that is not a request: notifications (`notifications/cancelled`
//! stops the named request in its session; the rest need no action with shared upstream
//! sessions) and responses to server-to-client requests (dedicated sessions only). Both
//! are answered 202.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use gateway_core::{
    jsonrpc::{Notification, Response as RpcResponse, code},
    mcp::Method,
};

use super::extract::Endpoint;
use crate::mcp::{reply::Refusal, session::Live};

fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

/// A client notification: 202 (404 for a session id that names no session).
pub(super) fn notification(endpoint: &Endpoint, notification: &Notification) -> Response {
    if let Some(opened) = endpoint.session() {
        match opened {
            Ok(live) => cancel(&live, notification),
            Err(refusal) => return refusal.into_response(),
        }
    }
    accepted()
}

/// `notifications/cancelled` stops the named request.
fn cancel(live: &Live, notification: &Notification) {
    if notification.method != Method::Cancelled.as_str() {
        return;
    }
    let request_id = notification
        .params
        .as_deref()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p.get()).ok())
        .and_then(|p| p.get("requestId").map(ToString::to_string));
    if let Some(id) = request_id
        && live.cancel(&id)
    {
        tracing::debug!(request = %id, "request cancelled by the client");
    }
}

/// An answer to a server-to-client request, which only dedicated upstream sessions send
/// (shared ones never see the client's capabilities): back to the upstream with its own
/// id.
pub(super) async fn response(endpoint: &Endpoint, response: RpcResponse) -> Response {
    let Some(opened) = endpoint.session() else {
        return Refusal::new(
            StatusCode::BAD_REQUEST,
            code::INVALID_REQUEST,
            "responses are only accepted within a session",
        )
        .into_response();
    };
    let live = match opened {
        Ok(live) => live,
        Err(refusal) => return refusal.into_response(),
    };
    if let Some(dedicated) = live.dedicated.get()
        && !dedicated.answer(response).await
    {
        tracing::debug!("client answered a request it was never sent");
    }
    accepted()
}
