//! `GET /gateway/ready`: whether this replica should receive traffic (readiness), as
//! opposed to `/gateway/health` (is the process alive and how is it doing).

use std::sync::atomic::Ordering;

use axum::{Json, extract::State, http::StatusCode, response::IntoResponse};
use serde_json::json;

use crate::state::AppState;

/// Ready: 200 when the database answers and the routing table is loaded (the change
/// feed caught up with the database at least once since start-up), else 503. Public,
/// like `/gateway/health`, for load balancers and Kubernetes probes.
#[utoipa::path(get, path = "/gateway/ready", tag = "gateway",
    responses((status = 200, description = "`{\"ready\": true, \"replica\", \"database\": \"reachable\", \"routing_table\": \"loaded\", \"change_feed\": {\"version\", \"wake\"}}`"),
              (status = 503, description = "`ready: false`: the database is unreachable or the routing table is not loaded yet")))]
pub(crate) async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let db_ok = state.registry.store().ping().await.is_ok();
    let feed = &state.fleet.feed;
    let loaded = feed.synced_once.load(Ordering::Relaxed);
    let ready = db_ok && loaded;
    let body = json!({
        "ready": ready,
        "replica": state.fleet.replica_id,
        "database": if db_ok { "reachable" } else { "unreachable" },
        "routing_table": if loaded { "loaded" } else { "loading" },
        "change_feed": {
            "version": feed.version.load(Ordering::Relaxed),
            "wake": feed.wake_source(),
            "seconds_since_sync": feed.seconds_since_sync(),
        },
    });
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}
