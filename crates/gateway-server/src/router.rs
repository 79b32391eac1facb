//! Every route and the layer order, on one screen.

use axum::{
    Json, Router,
    extract::DefaultBodyLimit,
    http::{StatusCode, Uri},
    response::IntoResponse,
};
use gateway_core::api::ErrorBody;
use tower_http::{
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{admin, auth, mcp, openapi, rest, state::AppState};

/// The application: MCP endpoints, REST facade, management API, API docs.
pub(crate) fn app(state: AppState) -> Router {
    let max_body = state.max_body;
    let auth_state = state.clone();
    Router::new()
        .merge(mcp::routes())
        .merge(rest::routes())
        .merge(admin::routes())
        .merge(auth::routes())
        .with_state(state)
        .merge(openapi::routes())
        .fallback(not_found)
        // Authentication, route scopes, template allowlists, rate limits (auth/layer.rs).
        .layer(axum::middleware::from_fn_with_state(
            auth_state,
            auth::authorize,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http())
        // Outermost: every request and response carries `x-request-id` (a client's own
        // id is kept), and the trace span sees it.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(NewRequestId))
}

async fn not_found(uri: Uri) -> impl IntoResponse {
    let body = ErrorBody {
        error: "not_found".to_owned(),
        detail: format!("no route for {}", uri.path()),
        field: None,
    };
    (StatusCode::NOT_FOUND, Json(body))
}

/// Random request ids (UUID v4).
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        axum::http::HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
            .ok()
            .map(RequestId::new)
    }
}
