//! `GET /auth/audit`: the audit log, newest first, filterable (admins only).

use axum::{
    Json,
    extract::{Query, State},
};
use gateway_core::api::{AuditEntry, AuditPage, rfc3339};
use gateway_store::AuditFilter;
use serde::Deserialize;

use crate::{auth::Caller, error::ApiError, state::AppState};

/// Filters; all given ones must match.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct AuditQuery {
    /// `user:NAME` or `key:ID`.
    actor: Option<String>,
    /// e.g. `login`, `user.create`, `api_key.revoke`, `instance.register`, `authz.deny`.
    action: Option<String>,
    /// `success`, `failure` or `denied`.
    outcome: Option<String>,
    /// The object acted on.
    target: Option<String>,
    /// At or after this Unix time (seconds).
    since: Option<i64>,
    /// Before this Unix time (seconds).
    until: Option<i64>,
    /// At most this many entries (default 100, at most 1000).
    limit: Option<u64>,
}

/// Audit log entries.
#[utoipa::path(get, path = "/auth/audit", tag = "auth", operation_id = "list_audit_events",
    params(AuditQuery),
    responses((status = 200, description = "Entries, newest first", body = AuditPage),
              (status = 403, description = "Missing scope `admin`", body = gateway_core::api::ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    caller
        .require(gateway_core::Scope::Admin)
        .map_err(ApiError::from)?;
    let auth = state.access.authenticator()?;
    // Events queued by earlier requests are written first, so a client reads its writes.
    if let Some(auditor) = &state.access.auditor {
        auditor.flush().await;
    }
    let filter = AuditFilter {
        actor: query.actor,
        action: query.action,
        outcome: query.outcome,
        target: query.target,
        since_ms: query.since.map(|s| s.saturating_mul(1000)),
        until_ms: query.until.map(|s| s.saturating_mul(1000)),
        limit: query
            .limit
            .unwrap_or(100)
            .clamp(1, gateway_store::MAX_AUDIT_PAGE),
    };
    let events: Vec<AuditEntry> = auth
        .store()
        .list_audit_events(&filter)
        .await
        .map_err(ApiError::Store)?
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            time: rfc3339(r.at_ms),
            actor: r.actor,
            action: r.action,
            target: r.target,
            outcome: r.outcome,
            client_addr: r.client_addr,
            request_id: r.request_id,
        })
        .collect();
    Ok(Json(AuditPage {
        count: events.len(),
        events,
    }))
}
