//! `DELETE /mcp[/{template}]`: ends the session on this replica (and its dedicated
//! upstream); its id is remembered as closed until it would have expired.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::extract::Endpoint;

/// `DELETE /mcp` and `DELETE /mcp/{template}`.
pub(crate) async fn delete(endpoint: Endpoint) -> Response {
    let id = match endpoint.required_session_id() {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    let live = match endpoint.session() {
        Some(Ok(live)) => live,
        Some(Err(refusal)) => return refusal.into_response(),
        None => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
    };
    endpoint.mcp.sessions.close(id, live.claims.issued);
    StatusCode::OK.into_response()
}
