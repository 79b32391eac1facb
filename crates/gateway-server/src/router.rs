//! Every route and the layer order, on one screen.

use axum::{
    Json, Router,
    extract::DefaultBodyLimit,
    http::{StatusCode, Uri},
    response::IntoResponse,
};
use gateway_core::api::ErrorBody;
use tower_http::trace::TraceLayer;

use crate::{admin, openapi, rest, state::AppState};

/// The application: REST facade, management API, API docs.
pub(crate) fn app(state: AppState) -> Router {
    let max_body = state.max_body;
    Router::new()
        .merge(rest::routes())
        .merge(admin::routes())
        .with_state(state)
        .merge(openapi::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http())
}

async fn not_found(uri: Uri) -> impl IntoResponse {
    let body = ErrorBody {
        error: "not_found".to_owned(),
        detail: format!("no route for {}", uri.path()),
        field: None,
    };
    (StatusCode::NOT_FOUND, Json(body))
}
