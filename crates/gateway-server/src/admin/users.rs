//! `/auth/users`: user management (admins only; the auth layer and `gateway-auth` both
//! check). No answer ever carries a password or its hash.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use gateway_auth::{Outcome, user_info};
use gateway_core::api::{CreateUser, UpdateUser, UserInfo};
use serde_json::{Value, json};

use crate::{
    auth::{Caller, RequestMeta},
    error::ApiError,
    rest::JsonBody,
    state::AppState,
};

/// Creates a user.
#[utoipa::path(post, path = "/auth/users", tag = "auth", operation_id = "create_user",
    request_body = CreateUser,
    responses((status = 201, description = "Created", body = UserInfo),
              (status = 400, description = "Invalid input or weak password (the `field` names it)", body = gateway_core::api::ErrorBody),
              (status = 403, description = "Missing scope `admin`", body = gateway_core::api::ErrorBody),
              (status = 409, description = "The name is taken", body = gateway_core::api::ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    meta: RequestMeta,
    JsonBody(body): JsonBody<CreateUser>,
) -> Result<(StatusCode, Json<UserInfo>), ApiError> {
    let auth = state.access.authenticator()?;
    let result = auth.create_user(&caller, &body).await;
    state.access.audit(meta.event(
        Some(caller.actor()),
        "user.create",
        Some(body.username.chars().take(64).collect()),
        outcome(&result),
    ));
    Ok((StatusCode::CREATED, Json(user_info(&result?))))
}

/// Every user.
#[utoipa::path(get, path = "/auth/users", tag = "auth", operation_id = "list_users",
    responses((status = 200, description = "`{\"users\": [UserInfo], \"count\": N}`"),
              (status = 403, description = "Missing scope `admin`", body = gateway_core::api::ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Value>, ApiError> {
    let auth = state.access.authenticator()?;
    let users: Vec<UserInfo> = auth
        .list_users(&caller)
        .await?
        .iter()
        .map(user_info)
        .collect();
    Ok(Json(json!({ "count": users.len(), "users": users })))
}

/// One user.
#[utoipa::path(get, path = "/auth/users/{name}", tag = "auth", operation_id = "get_user",
    params(("name" = String, Path, description = "User name")),
    responses((status = 200, description = "The user", body = UserInfo),
              (status = 404, description = "No such user", body = gateway_core::api::ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<Json<UserInfo>, ApiError> {
    let auth = state.access.authenticator()?;
    Ok(Json(user_info(&auth.get_user(&caller, &name).await?)))
}

/// Changes a user's password, role, active flag or templates; its existing tokens stop
/// working.
#[utoipa::path(patch, path = "/auth/users/{name}", tag = "auth", operation_id = "update_user",
    params(("name" = String, Path, description = "User name")),
    request_body = UpdateUser,
    responses((status = 200, description = "The updated user", body = UserInfo),
              (status = 400, description = "Invalid input", body = gateway_core::api::ErrorBody),
              (status = 404, description = "No such user", body = gateway_core::api::ErrorBody),
              (status = 409, description = "Would leave no active admin", body = gateway_core::api::ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(caller): Caller,
    meta: RequestMeta,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<UpdateUser>,
) -> Result<Json<UserInfo>, ApiError> {
    let auth = state.access.authenticator()?;
    let result = auth.update_user(&caller, &name, &body).await;
    state.access.audit(meta.event(
        Some(caller.actor()),
        "user.update",
        Some(name.chars().take(64).collect()),
        outcome(&result),
    ));
    Ok(Json(user_info(&result?)))
}

/// Deletes a user and its API keys.
#[utoipa::path(delete, path = "/auth/users/{name}", tag = "auth", operation_id = "delete_user",
    params(("name" = String, Path, description = "User name")),
    responses((status = 200, description = "`{\"message\": \"User deleted\", \"username\"}`"),
              (status = 404, description = "No such user", body = gateway_core::api::ErrorBody),
              (status = 409, description = "Would leave no active admin", body = gateway_core::api::ErrorBody)),
    security(("bearer" = []), ("api_key" = [])))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    meta: RequestMeta,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let auth = state.access.authenticator()?;
    let result = auth.delete_user(&caller, &name).await;
    state.access.audit(meta.event(
        Some(caller.actor()),
        "user.delete",
        Some(name.chars().take(64).collect()),
        outcome(&result),
    ));
    result?;
    Ok(Json(json!({ "message": "User deleted", "username": name })))
}

/// The audit outcome of a management call.
pub(crate) fn outcome<T>(result: &Result<T, gateway_auth::Error>) -> Outcome {
    match result {
        Ok(_) => Outcome::Success,
        Err(e) if e.is_forbidden() => Outcome::Denied,
        Err(_) => Outcome::Failure,
    }
}
