//! `/auth/api-keys`: users manage their own keys, admins everybody's. The key is shown
//! once, in the creation answer; afterwards only its id and details. Keys are created
//! by people: a request authenticated with an API key cannot create one (403
//! `forbidden`, audited), and revokes only itself unless it has the `admin` scope (see
//! `gateway_auth`'s account rules).

use axum::{
    Json,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use gateway_auth::key_info;
use gateway_core::api::{ApiKeyInfo, CreateApiKey, CreatedApiKey};
use serde::Deserialize;
use serde_json::{Value, json};

use super::users::outcome;
use crate::{
    auth::{Caller, RequestMeta},
    error::ApiError,
    rest::JsonBody,
    state::AppState,
};

/// `?owner=NAME` (admins: someone else's keys).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct KeyQuery {
    /// Only keys of this user.
    #[param(pattern = "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")]
    owner: Option<String>,
}

/// Creates an API key. The answer is the only time the key is shown. Needs a token
/// from `/auth/login`: API keys cannot create keys. The key never exceeds its owner
/// nor the caller: scopes within both, templates within both (no `templates` from a
/// caller limited to templates means the caller's list), and a rate limit above the
/// owner's role default only from an admin.
#[utoipa::path(post, path = "/auth/api-keys", tag = "auth", operation_id = "create_api_key",
    request_body = gateway_core::api::CreateApiKeyBody,
    responses((status = 201, description = "Created; `key` is shown only now", body = CreatedApiKey),
              (status = 400, description = "Invalid input", body = gateway_core::api::ErrorBody),
              (status = 403, description = "Called with an API key, or scopes, templates or rate limit beyond the owner's or yours", body = gateway_core::api::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    meta: RequestMeta,
    JsonBody(body): JsonBody<gateway_core::api::CreateApiKeyBody>,
) -> Result<Response, ApiError> {
    // The predecessor's fields (`expires_at`, ...) become the guide's request here.
    let body: CreateApiKey = body.into_request(crate::registry::now_ms())?;
    let auth = state.access.authenticator()?;
    let result = auth.create_api_key(&caller, &body).await;
    let target = match &result {
        Ok((_, record)) => record.id.clone(),
        Err(_) => body.name.chars().take(64).collect(),
    };
    state.access.audit(meta.event(
        Some(caller.actor()),
        "api_key.create",
        Some(target),
        outcome(&result),
    ));
    let (key, record) = result?;
    let created = CreatedApiKey {
        key: key.expose().to_owned(),
        info: key_info(&record),
    };
    let mut response = (StatusCode::CREATED, Json(created)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The caller's keys (admins: everybody's, or `owner`'s).
#[utoipa::path(get, path = "/auth/api-keys", tag = "auth", operation_id = "list_api_keys",
    params(KeyQuery),
    responses((status = 200, description = "`{\"api_keys\": [ApiKeyInfo], \"count\": N}`"),
              (status = 403, description = "Another user's keys without scope `admin`", body = gateway_core::api::ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<KeyQuery>,
) -> Result<Json<Value>, ApiError> {
    let auth = state.access.authenticator()?;
    let keys: Vec<ApiKeyInfo> = auth
        .list_api_keys(&caller, query.owner.as_deref())
        .await?
        .iter()
        .map(key_info)
        .collect();
    Ok(Json(json!({ "count": keys.len(), "api_keys": keys })))
}

/// Revokes a key: it stops working at once. With an API key, only that key itself
/// (unless the key has the `admin` scope).
#[utoipa::path(delete, path = "/auth/api-keys/{id}", tag = "auth", operation_id = "revoke_api_key",
    params(("id" = String, Path, description = "Key id")),
    responses((status = 200, description = "The revoked key", body = ApiKeyInfo),
              (status = 403, description = "An API key revoking another key", body = gateway_core::api::ErrorBody),
              (status = 404, description = "No such key (or not yours)", body = gateway_core::api::ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Caller(caller): Caller,
    meta: RequestMeta,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyInfo>, ApiError> {
    let auth = state.access.authenticator()?;
    let result = auth.revoke_api_key(&caller, &id).await;
    state.access.audit(meta.event(
        Some(caller.actor()),
        "api_key.revoke",
        Some(id.chars().take(64).collect()),
        outcome(&result),
    ));
    Ok(Json(key_info(&result?)))
}
